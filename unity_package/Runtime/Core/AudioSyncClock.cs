// Utterance time read from the audio hardware, smoothed between its coarse position updates.
using System;

namespace Text2Lips.Core
{
    /// <summary>
    /// Turns the audio position the engine reports (<c>AudioSource.timeSamples</c>, which moves
    /// only once per DSP buffer) into a smooth clock for the lips. The real play position lies
    /// in [reported, reported + one DSP buffer); the estimate advances with render time, is
    /// pulled gently towards the middle of that window (so render-clock drift cannot build up)
    /// and is clamped into it (so a hitch, a seek or a resume corrects at once). While the audio
    /// is paused the estimate does not move. Pure C#: the engine passes the numbers in.
    /// </summary>
    public sealed class AudioSyncClock
    {
        double _estimate;
        bool _started;

        /// <summary>Creates a clock.</summary>
        /// <param name="blockSeconds">Duration of one DSP buffer (s, ≥ 0): how far the real play
        /// position may be ahead of the reported one (Unity: bufferLength / outputSampleRate).</param>
        /// <param name="correctionSeconds">Time constant (s, &gt; 0) of the pull towards the window's middle.</param>
        public AudioSyncClock(double blockSeconds, double correctionSeconds = 0.25)
        {
            if (!(blockSeconds >= 0)) throw new ArgumentOutOfRangeException("blockSeconds", blockSeconds, "must be >= 0");
            if (!(correctionSeconds > 0)) throw new ArgumentOutOfRangeException("correctionSeconds", correctionSeconds, "must be > 0");
            BlockSeconds = blockSeconds;
            CorrectionSeconds = correctionSeconds;
        }

        /// <summary>One DSP buffer (s).</summary>
        public double BlockSeconds { get; private set; }

        /// <summary>Time constant of the drift correction (s).</summary>
        public double CorrectionSeconds { get; private set; }

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
        /// <param name="playing">Whether the audio is running (false while paused or starved).</param>
        /// <param name="dt">Render time since the previous call (s).</param>
        public double Update(double reportedSeconds, bool playing, double dt)
        {
            if (double.IsNaN(dt) || dt < 0) dt = 0;
            if (!_started)
            {
                _estimate = reportedSeconds;
                _started = true;
            }
            else if (playing)
            {
                _estimate += dt;
                double middle = reportedSeconds + 0.5 * BlockSeconds;
                _estimate += (middle - _estimate) * LipMath.SmoothingAlpha(dt, CorrectionSeconds);
            }
            // Paused audio stops somewhere inside the last block too: hold, inside the window.
            double hi = reportedSeconds + BlockSeconds;
            if (_estimate < reportedSeconds) _estimate = reportedSeconds;
            if (_estimate > hi) _estimate = hi;
            return _estimate;
        }
    }
}
