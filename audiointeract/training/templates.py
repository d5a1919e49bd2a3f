"""Speech templates for generated episodes, in two disjoint families: ``train`` and ``heldout``.

Held-out scenes use other wake phrases, requests, side talk, topics and task wordings
than training scenes, so evaluation measures generalisation rather than recall.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

__all__ = ["TEMPLATES", "Templates"]


@attrs.frozen(kw_only=True)
class Templates:
    """The phrase pools of one family.

    Requests that start with a question word are questions ("?"); a request without a
    wake phrase is always a question. ``watch_targets`` maps a sound a user may ask to
    be told about to its AudioSet label.
    """

    wake: tuple[str, ...]
    requests: tuple[str, ...]
    hesitant: tuple[tuple[str, str], ...]
    side_talk: tuple[str, ...]
    topics: Mapping[str, tuple[str, ...]]
    topic_tasks: tuple[str, ...]
    answer_tasks: tuple[str, ...]
    safety_tasks: tuple[str, ...]
    watch_targets: Mapping[str, str]
    watch_tasks: tuple[str, ...]


_TRAIN = Templates(
    wake=(
        "hey assistant",
        "assistant",
        "okay assistant",
        "computer",
        "hi assistant",
        "hello assistant",
        "okay computer",
        "assistant, please",
        "hey there assistant",
    ),
    requests=(
        "what's the weather like tomorrow",
        "what time is it in Tokyo",
        "how many ounces are in a pound",
        "set a timer for ten minutes",
        "remind me to call the dentist tomorrow",
        "what is the capital of Australia",
        "play some relaxing music",
        "how do I convert Celsius to Fahrenheit",
        "can you spell necessary",
        "what's on my calendar today",
        "turn off the kitchen lights",
        "how long should I boil an egg",
        "add milk to the shopping list",
        "who wrote Pride and Prejudice",
        "what's fifteen percent of eighty",
        "how far is the moon from the earth",
        "tell me a joke",
        "what's the news today",
        "how do you say thank you in Spanish",
        "when does the pharmacy close",
        "start a stopwatch",
        "what's a good recipe for pancakes",
        "how many days until Christmas",
        "read me my last message",
        "what's the square root of one hundred forty four",
        "turn the thermostat up two degrees",
        "is it going to rain this afternoon",
        "what should I cook for dinner tonight",
        "what's the time",
        "how much is a dozen times twelve",
        "what's the temperature outside",
        "when is the next bus into town",
        "what's the date today",
        "how do I reset my router",
        "can you recommend a good book",
        "what's the meaning of the word ubiquitous",
        "lock the front door",
        "open the garage door",
        "what's the best way to cook rice",
        "how many miles is a marathon",
        "who won the world cup in two thousand eighteen",
        "what's the speed of light",
        "set the volume to five",
        "what movies are playing tonight",
        "is the library open on Sunday",
        "what's the phone number for the clinic",
        "how do I make a paper airplane",
        "skip this song",
        "what's the distance to the nearest gas station",
        "can you translate good morning into French",
        "how many teaspoons are in a tablespoon",
        "remind me to take my medicine at nine",
        "which planet is the largest",
        "does the supermarket deliver today",
        "where is the nearest hospital",
        "what year did the Berlin wall fall",
        "are there any new emails",
        "could you read the recipe again",
        "should I bring an umbrella today",
        "will it be windy tomorrow",
        "what's twelve divided by four",
        "how old is the universe",
        "order more paper towels",
    ),
    hesitant=(
        ("remind me to call", "my mother at five o'clock"),
        ("my number is four five", "six seven eight nine, save it"),
        ("can you add eggs and", "flour to the shopping list"),
        ("what's the weather going to be", "like in Paris on Saturday"),
        ("set an alarm for", "seven thirty tomorrow morning"),
        ("how long does it take to drive to", "the airport from here"),
        ("send a message to", "Laura saying I'm on my way"),
        ("what is the name of the", "actor in that spy movie"),
        ("add a dentist appointment on", "Friday at two"),
        ("how much flour do I need for", "twelve muffins"),
        ("remind me tomorrow to", "pick up the dry cleaning"),
        ("can you look up the opening hours of", "the town museum"),
    ),
    side_talk=(
        "honey, did you feed the cat?",
        "I think the meeting went pretty well",
        "can you pass me the salt please",
        "Mike, what time does the game start tonight?",
        "Jake, did you see that movie last night?",
        "let's order pizza for dinner",
        "mom, where are my keys?",
        "I'll be back in five minutes",
        "the kids are playing in the garden",
        "Sarah, can you help me with this box?",
        "we should paint the fence this weekend",
        "Anna, are you coming to the party on Friday?",
        "I need to finish this report by tonight",
        "that was a really funny show",
        "Tom, is the oven still on?",
        "I can't find my glasses anywhere",
        "dinner is almost ready",
        "kids, did anyone take out the trash?",
        "the traffic was terrible this morning",
        "what do you want for breakfast, dear?",
        "Lisa, have you seen my blue jacket?",
        "James, are you ready to leave?",
        "sweetie, did you brush your teeth?",
        "guys, who wants more tea?",
        "Emma, what time is your flight?",
        "Ben, can you turn the music down?",
        "Grandma, do you want some cake?",
        "Kevin, where did you park the car?",
        "Nina, how was school today?",
        "Paul, is the meeting still at three?",
        "darling, should we go for a walk?",
        "Olivia, did you call your aunt?",
        "I left my wallet in the car",
        "the coffee machine is broken again",
        "it's really cold in here",
        "my back hurts from sitting all day",
        "I have to pick up the kids at four",
        "this book is really good",
        "the bus was late again",
        "I'm so tired today",
        "we need more milk",
        "the garden looks lovely",
        "I forgot to buy bread",
        "the laundry is done",
        "she said she would call later",
        "the movie starts at eight",
        "our neighbors got a new dog",
        "I think it's going to be a long week",
        "the kettle is on",
        "that's a great idea",
        "I don't like this song much",
        "the window is open",
        "and then he told me the whole story about the trip",
        "yes, I agree with you completely",
    ),
    topics={
        "the budget": (
            "we are already over budget on this project",
            "the budget for next quarter is really tight",
            "finance wants to cut the budget by ten percent",
        ),
        "the deadline": (
            "the deadline moved to next Monday",
            "we will never make the deadline at this rate",
            "the client extended the deadline by a week",
        ),
        "my name, Alex": ("Alex, are you there?", "has anyone seen Alex today?", "Alex, your coffee is ready"),
        "the printer": (
            "the printer is jammed again",
            "someone left paper in the printer",
            "the printer on the second floor is out of toner",
        ),
        "the car": (
            "the car is making a weird noise again",
            "I need to take the car to the mechanic",
            "the car needs new tires before winter",
        ),
        "our vacation": (
            "I booked the flights for our vacation",
            "where should we go on vacation this summer?",
            "my vacation starts next week",
        ),
        "the invoice": (
            "the invoice from the supplier is overdue",
            "did anyone send the invoice yet?",
            "the invoice has the wrong address on it",
        ),
        "my name, Sam": ("Sam, dinner is ready", "is Sam coming with us?", "Sam, someone is at the door for you"),
        "the new hire": (
            "the new hire starts on Monday",
            "has anyone met the new hire yet?",
            "the new hire needs a laptop",
        ),
        "the roof": (
            "the roof is leaking again",
            "we should get someone to fix the roof",
            "a tile came off the roof last night",
        ),
    },
    topic_tasks=(
        "Tell me when someone mentions {topic}.",
        "Let me know if anyone talks about {topic}.",
        "Notify me whenever {topic} comes up.",
        "Watch out for any mention of {topic}.",
        "If somebody talks about {topic}, tell me.",
    ),
    answer_tasks=(
        "Answer questions and requests addressed to you.",
        "Answer when someone asks you something.",
        "Answer anything the user asks you directly.",
        "Help with whatever I ask you.",
    ),
    safety_tasks=(
        "Warn me about emergencies, hazards and safety-critical sounds.",
        "Alert me if something dangerous happens around me.",
        "Tell me right away about anything unsafe.",
        "Warn me about fire, accidents, severe weather or anyone in distress.",
    ),
    watch_targets={
        "the doorbell": "Doorbell",
        "a dog barking": "Dog",
        "someone knocking": "Knock",
        "the cat": "Cat",
        "the vacuum cleaner": "Vacuum cleaner",
        "the toilet flushing": "Toilet flush",
        "a baby laughing": "Baby laughter",
        "the kettle boiling": "Boiling",
        "the sewing machine": "Sewing machine",
        "a car passing": "Car",
        "rain": "Rain",
        "someone clapping": "Clapping",
        "the microwave": "Microwave oven",
        "footsteps": "Walk, footsteps",
    },
    watch_tasks=(
        "Tell me when you hear {target}.",
        "Let me know if there is {target}.",
        "Notify me about {target}.",
        "Say something when {target} starts.",
    ),
)

_HELDOUT = Templates(
    wake=("excuse me assistant", "hey computer", "assistant, quick question", "yo assistant"),
    requests=(
        "how tall is Mount Everest",
        "what's the exchange rate for euros",
        "dim the living room lights",
        "set a reminder to water the plants",
        "what's the traffic like on the way to work",
        "how many cups are in a quart",
        "who painted the Mona Lisa",
        "what's seven times eight",
        "find me a nearby coffee shop",
        "what's the score of the game",
        "when is sunset today",
        "pause the music",
        "what's the boiling point of water",
        "how do I get a stain out of a shirt",
        "call my sister",
        "what's my next meeting",
        "how many calories are in an apple",
        "what's the population of Canada",
    ),
    hesitant=(
        ("book a table for two at", "the Italian place at eight"),
        ("text Jamie that I'll be", "ten minutes late"),
        ("what's the fastest way to get to", "the train station"),
        ("put a meeting with Dana on", "Thursday afternoon"),
    ),
    side_talk=(
        "Jen, did you lock the back door?",
        "I'm going to take a shower",
        "the dog needs a walk soon",
        "Chris, can you grab the mail?",
        "this soup needs more salt",
        "we ran out of coffee again",
        "babe, who's picking up the kids today?",
        "I love this song",
        "the neighbors are having a party",
        "Dad, can I borrow the car tonight?",
        "my phone battery is almost dead",
        "let's watch something funny",
        "the plants need watering",
        "I'll call you back later",
    ),
    topics={
        "the server outage": (
            "the server went down again last night",
            "we had another outage on the main server",
            "the outage took the website offline for an hour",
        ),
        "my name, Priya": ("Priya, can you come here?", "is Priya joining the call?", "Priya, your package arrived"),
        "the holiday party": (
            "the holiday party is on the twentieth",
            "who's organizing the holiday party this year?",
            "I can't wait for the holiday party",
        ),
        "parking": (
            "there's no parking left in the garage",
            "they changed the parking rules downtown",
            "I got a parking ticket this morning",
        ),
    },
    topic_tasks=("Ping me if anybody brings up {topic}.", "Tell me if {topic} gets mentioned."),
    answer_tasks=("Respond to requests people direct at you.",),
    safety_tasks=("Speak up if you hear anything that sounds like an emergency or danger.",),
    watch_targets={
        "a phone or a bell ringing": "Telephone bell ringing",
        "birds singing": "Bird",
        "music playing": "Music",
        "a door closing": "Door",
    },
    watch_tasks=("Give me a shout when you hear {target}.",),
)

TEMPLATES: Mapping[str, Templates] = {"train": _TRAIN, "heldout": _HELDOUT}
