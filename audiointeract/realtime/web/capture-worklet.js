// Microphone capture for the audiointeract page: float samples in, PCM16 frames out.
//
// Runs on the audio rendering thread. It resamples (linear interpolation) when the
// AudioContext does not run at the rate the server expects, converts to 16-bit PCM and
// posts one frame of `frameSamples` samples at a time to the page, transferring the buffer.

class Pcm16Capture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { targetRate, frameSamples } = options.processorOptions;
    this.step = sampleRate / targetRate; // input samples per output sample (sampleRate: the context's)
    this.frameSamples = frameSamples;
    this.frame = new Int16Array(frameSamples);
    this.filled = 0;
    this.position = 0; // where the next output sample falls, in input samples from this block's start
    this.previous = 0; // the last input sample of the previous block (index -1)
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    if (this.step === 1) {
      for (let i = 0; i < channel.length; i++) this.push(channel[i]);
      return true;
    }
    let t = this.position;
    while (t < channel.length - 1) {
      const i = Math.floor(t);
      const a = i < 0 ? this.previous : channel[i];
      const b = channel[i + 1];
      this.push(a + (b - a) * (t - i));
      t += this.step;
    }
    this.position = t - channel.length;
    this.previous = channel[channel.length - 1];
    return true;
  }

  push(sample) {
    const clipped = Math.max(-1, Math.min(1, sample));
    this.frame[this.filled++] = Math.round(clipped * 32767);
    if (this.filled === this.frameSamples) {
      this.port.postMessage(this.frame.buffer, [this.frame.buffer]);
      this.frame = new Int16Array(this.frameSamples);
      this.filled = 0;
    }
  }
}

registerProcessor("pcm16-capture", Pcm16Capture);
