// IAudioOutput on an AudioSource: a looping clip for streamed voice, or a game's own clip.
using System;
using Text2Lips.Core;
using UnityEngine;

namespace Text2Lips
{
    /// <summary>
    /// The engine side of <see cref="SpeechPlayback"/>: streamed voice is written with
    /// <c>AudioClip.SetData</c> into a looping clip the <see cref="AudioSource"/> plays (the core
    /// decides what goes where); a game's clip is played as it is. Positions are
    /// <c>AudioSource.timeSamples</c>.
    /// </summary>
    sealed class UnityAudioOutput : IAudioOutput, IDisposable
    {
        readonly AudioSource _source;
        readonly float[] _block = new float[StreamingAudio.WriteBlockSamples];
        AudioClip _stream;
        float[] _silence;

        public UnityAudioOutput(AudioSource source)
        {
            _source = source;
        }

        public AudioSource Source { get { return _source; } }

        public void OpenStream(int sampleRate, int lengthSamples)
        {
            if (_stream == null || _stream.frequency != sampleRate || _stream.samples != lengthSamples)
            {
                Dispose();
                _stream = AudioClip.Create("text2lips voice", lengthSamples, 1, sampleRate, false);
                _silence = new float[lengthSamples];
            }
            else _stream.SetData(_silence, 0); // no tail of the previous line
            _source.Stop();
            _source.clip = _stream;
            _source.loop = true;
            _source.timeSamples = 0;
        }

        /// <summary>Plays a game's own clip once.</summary>
        public void UseClip(AudioClip clip)
        {
            _source.Stop();
            _source.clip = clip;
            _source.loop = false;
            _source.timeSamples = 0;
        }

        public int SampleRate { get { return _source.clip != null ? _source.clip.frequency : 0; } }
        public int LengthSamples { get { return _source.clip != null ? _source.clip.samples : 0; } }
        public int Position { get { return _source.timeSamples; } }
        public bool IsPlaying { get { return _source.isPlaying; } }

        public void Write(int offset, float[] ring, int count)
        {
            Array.Copy(ring, offset, _block, 0, count);
            _stream.SetData(_block, offset);
        }

        public void Play() { _source.Play(); }
        public void Pause() { _source.Pause(); }
        public void UnPause() { _source.UnPause(); }
        public void Stop() { _source.Stop(); }

        public void Dispose()
        {
            if (_stream == null) return;
            if (_source != null && _source.clip == _stream) _source.clip = null;
            UnityEngine.Object.Destroy(_stream);
            _stream = null;
        }

        /// <summary>One DSP buffer in seconds: how far the heard sample may be ahead of timeSamples.</summary>
        public static double DspBlockSeconds()
        {
            int length, buffers;
            AudioSettings.GetDSPBufferSize(out length, out buffers);
            int rate = AudioSettings.outputSampleRate;
            return rate > 0 && length > 0 ? length / (double)rate : 1024.0 / 48000.0;
        }
    }
}
