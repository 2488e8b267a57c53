// Utterance time read from the audio hardware, smoothed between its coarse position updates.
using System;

namespace Text2Lips.Core
{
    /// <summary>
    /// Turns the audio position the engine reports (<c>AudioSource.timeSamples</c>, which moves
    /// only once per DSP buffer) into a smooth clock for the lips. The real play position lies
    /// in [reported, reported + one DSP buffer); the estimate advances with render time between
    /// reports and is clamped into that window, so render-clock drift, a hitch, a seek or a
    /// resume can never move it more than one buffer from the sound. (A pull towards the
    /// window's middle was tried and dropped: against a simulated card it only added the
    /// window's sawtooth as jitter, 6-7 ms instead of 2.5 ms.) While the audio is paused the
    /// estimate does not move. Pure C#: the engine passes the numbers in.
    /// </summary>
    public sealed class AudioSyncClock
    {
        double _estimate;
        bool _started;

        /// <summary>Creates a clock.</summary>
        /// <param name="blockSeconds">Duration of one DSP buffer (s, ≥ 0): how far the real play
        /// position may be ahead of the reported one (Unity: bufferLength / outputSampleRate).</param>
        public AudioSyncClock(double blockSeconds)
        {
            if (!(blockSeconds >= 0)) throw new ArgumentOutOfRangeException("blockSeconds", blockSeconds, "must be >= 0");
            BlockSeconds = blockSeconds;
        }

        /// <summary>One DSP buffer (s).</summary>
        public double BlockSeconds { get; private set; }

        /// <summary>The current estimate of the audible position (s); 0 before the first update.</summary>
        public double Time { get { return _estimate; } }

        /// <summary>Forgets the previous utterance: the next update starts at the reported position.</summary>
        public void Reset()
        {
            _estimate = 0;
            _started = false;
        }

        /// <summary>Advances by one render step and returns the audible position (s).</summary>
        /// <param name="reportedSeconds">The position the engine reports now (s).</param>
        /// <param name="playing">Whether the audio was running during the last <paramref name="dt"/>.</param>
        /// <param name="dt">Render time since the previous call (s).</param>
        public double Update(double reportedSeconds, bool playing, double dt)
        {
            if (double.IsNaN(dt) || dt < 0) dt = 0;
            if (!_started)
            {
                _estimate = reportedSeconds;
                _started = true;
            }
            else if (playing) _estimate += dt;
            // Paused audio stops somewhere inside the last block too: hold, inside the window.
            double hi = reportedSeconds + BlockSeconds;
            if (_estimate < reportedSeconds) _estimate = reportedSeconds;
            if (_estimate > hi) _estimate = hi;
            return _estimate;
        }
    }
}
