// Plays one utterance's frames at the render rate: buffer + clock + interpolation + smoothing.
using System;
using System.Collections.Generic;

namespace Text2Lips.Core
{
    /// <summary>What happened during one <see cref="LipSyncPlayer.Tick"/>.</summary>
    [Flags]
    public enum PlayerEvents
    {
        /// <summary>Nothing new.</summary>
        None = 0,
        /// <summary>The clock started: the utterance is now visible.</summary>
        Started = 1,
        /// <summary>The utterance finished (played to its final frame, or stopped).</summary>
        Finished = 2,
        /// <summary>The playhead ran past the frames received so far.</summary>
        UnderrunBegan = 4,
        /// <summary>Frames caught up with the playhead again.</summary>
        UnderrunEnded = 8,
    }

    /// <summary>Tuning of <see cref="LipSyncPlayer"/>; the defaults suit 80 fps frames on a local server.</summary>
    [Serializable]
    public sealed class LipPlaybackSettings
    {
        /// <summary>Speech (s) to receive before the clock starts; absorbs network jitter.</summary>
        public double PrebufferSeconds = 0.1;
        /// <summary>Time constant (s) of the exponential smoothing of the output; 0 turns it off.</summary>
        public double SmoothingSeconds = 0.03;
        /// <summary>How long (s) an underrun holds the last frame before easing to neutral.</summary>
        public double UnderrunHoldSeconds = 0.1;
        /// <summary>Time constant (s) of the ease to neutral (after the end, a stop, or a long underrun).</summary>
        public double NeutralEaseSeconds = 0.08;
    }

    /// <summary>
    /// Plays the frames of one utterance at any render rate. Feed it frames as they arrive
    /// (<see cref="Push"/>, in any order) and call <see cref="Tick"/> once per rendered frame:
    /// it advances the <see cref="PlaybackClock"/>, samples the <see cref="FrameBuffer"/> between
    /// the two frames that bracket the playhead, holds then eases to neutral (all zeros) on an
    /// underrun or at the end, and smooths the result with a time constant. Pure C#: no Unity.
    /// </summary>
    public sealed class LipSyncPlayer
    {
        readonly FrameBuffer _buffer;
        readonly PlaybackClock _clock;
        readonly LipPlaybackSettings _settings;
        readonly float[] _target;
        readonly float[] _output;
        readonly float[] _neutral;
        bool _streamEnded;
        bool _underrun;
        bool _stopped; // Stop() was called; the next Tick reports Finished

        /// <summary>Creates an idle player for frames of <paramref name="weightCount"/> weights.</summary>
        public LipSyncPlayer(int weightCount, LipPlaybackSettings settings = null)
        {
            _settings = settings ?? new LipPlaybackSettings();
            _buffer = new FrameBuffer(weightCount);
            _clock = new PlaybackClock(_settings.PrebufferSeconds);
            _target = new float[weightCount];
            _output = new float[weightCount];
            _neutral = new float[weightCount];
        }

        /// <summary>Speech (s) received before a render-time clock starts (<see cref="LipPlaybackSettings.PrebufferSeconds"/>).</summary>
        public double PrebufferSeconds { get { return _settings.PrebufferSeconds; } }

        /// <summary>Weights per frame.</summary>
        public int WeightCount { get { return _buffer.WeightCount; } }

        /// <summary>The current utterance's frames (for statistics).</summary>
        public FrameBuffer Buffer { get { return _buffer; } }

        /// <summary>Playback state of the current utterance.</summary>
        public PlaybackState State { get { return _clock.State; } }

        /// <summary>Utterance time at the playhead (s).</summary>
        public double Time { get { return _clock.Time; } }

        /// <summary>True while the playhead is past the frames received so far.</summary>
        public bool InUnderrun { get { return _underrun; } }

        /// <summary>True from <see cref="Begin"/> until the utterance finishes.</summary>
        public bool IsBusy { get { return _clock.State == PlaybackState.Buffering || _clock.State == PlaybackState.Playing; } }

        /// <summary>Starts a new utterance, dropping whatever is left of the previous one.
        /// The output keeps easing from where it was, so there is no jump.</summary>
        public void Begin()
        {
            _buffer.Clear();
            _clock.Begin();
            _streamEnded = false;
            _underrun = false;
            _stopped = false;
        }

        /// <summary>Adds a received frame (see <see cref="FrameBuffer.Push"/>). Ignored when idle or finished.</summary>
        public PushResult Push(long index, double timeSeconds, IList<float> weights, bool last)
        {
            if (!IsBusy || _stopped) return PushResult.Late;
            return _buffer.Push(index, timeSeconds, weights, last);
        }

        /// <summary>The frame stream closed. Without a frame flagged last (an error or a cancel
        /// upstream), the utterance ends after the latest frame received.</summary>
        public void EndOfStream()
        {
            _streamEnded = true;
        }

        /// <summary>Stops the utterance now; the output eases to neutral and the next
        /// <see cref="Tick"/> reports <see cref="PlayerEvents.Finished"/>.</summary>
        public void Stop()
        {
            if (IsBusy) _stopped = true;
            _buffer.Clear();
        }

        /// <summary>
        /// Advances by <paramref name="dt"/> seconds of render time and writes the weights to show
        /// into <paramref name="output"/> (at least <see cref="WeightCount"/> long).
        /// </summary>
        public PlayerEvents Tick(double dt, float[] output)
        {
            return Step(dt, double.NaN, false, output);
        }

        /// <summary>
        /// Like <see cref="Tick"/>, but the playhead is set to <paramref name="time"/> by an outside
        /// clock (the audio, <see cref="AudioSyncClock"/>) instead of summing render steps; NaN
        /// keeps it waiting (the audio has not started). <paramref name="dt"/> still drives the smoothing.
        /// </summary>
        public PlayerEvents TickAt(double time, double dt, float[] output)
        {
            return Step(dt, time, true, output);
        }

        PlayerEvents Step(double dt, double time, bool external, float[] output)
        {
            if (output == null || output.Length < WeightCount) throw new ArgumentException("output must hold WeightCount weights", "output");
            if (dt < 0 || double.IsNaN(dt)) dt = 0;
            PlayerEvents events = PlayerEvents.None;
            PlaybackState before = _clock.State;
            if (_stopped)
            {
                _stopped = false;
                _clock.Finish();
                before = PlaybackState.Playing; // a stop while buffering reports Finished, not Started
            }
            PlaybackState now = external
                ? _clock.AdvanceTo(time, EndTime())
                : _clock.Advance(dt, _buffer.NewestTime, EndTime());
            if (before == PlaybackState.Buffering && now != PlaybackState.Buffering) events |= PlayerEvents.Started;
            if (now == PlaybackState.Finished && before != PlaybackState.Finished) events |= PlayerEvents.Finished;

            double tau = _settings.NeutralEaseSeconds;
            float[] target = _neutral;
            if (now == PlaybackState.Playing)
            {
                SampleStatus status = _buffer.Sample(_clock.Time, _target);
                bool under = status == SampleStatus.AfterLast || status == SampleStatus.Empty;
                if (under != _underrun) events |= under ? PlayerEvents.UnderrunBegan : PlayerEvents.UnderrunEnded;
                _underrun = under;
                bool holding = status == SampleStatus.AfterLast
                    && _clock.Time - _buffer.NewestTime <= _settings.UnderrunHoldSeconds;
                if (!under || holding)
                {
                    target = _target;
                    tau = _settings.SmoothingSeconds;
                }
                _buffer.DiscardBefore(_clock.Time);
            }
            else if (_underrun)
            {
                _underrun = false;
                events |= PlayerEvents.UnderrunEnded;
            }
            LipMath.Approach(_output, target, LipMath.SmoothingAlpha(dt, tau), WeightCount);
            Array.Copy(_output, output, WeightCount);
            return events;
        }

        double EndTime()
        {
            if (_buffer.LastReceived) return _buffer.LastFrameTime;
            if (_streamEnded)
            {
                // Nothing will come any more: end after what arrived (at once if nothing did).
                return double.IsNaN(_buffer.NewestTime) ? 0 : _buffer.NewestTime;
            }
            return double.NaN;
        }
    }
}
