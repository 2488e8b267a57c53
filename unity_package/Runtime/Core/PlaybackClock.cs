// The utterance clock: starts once enough frames are buffered, then runs on render time.
using System;

namespace Text2Lips.Core
{
    /// <summary>Where an utterance's playback stands.</summary>
    public enum PlaybackState
    {
        /// <summary>No utterance.</summary>
        Idle,
        /// <summary>An utterance was requested; waiting for enough frames to start.</summary>
        Buffering,
        /// <summary>The clock runs; frames are shown by their timestamps.</summary>
        Playing,
        /// <summary>The final frame's time has passed, or playback was stopped.</summary>
        Finished,
    }

    /// <summary>
    /// Utterance time for playback. The clock runs on the render loop's delta time, never on
    /// arrival times, so network jitter does not change the timing of the lips; it waits in
    /// <see cref="PlaybackState.Buffering"/> until frames cover <see cref="PrebufferSeconds"/>
    /// of speech (or the whole utterance has arrived), and finishes once it passes the time of
    /// the final frame.
    /// </summary>
    public sealed class PlaybackClock
    {
        /// <summary>Tolerance (s) on reaching the end: summed render steps drift by a few ulps,
        /// and 80 steps of 1/80 s must end an 80-frame utterance on the 80th step, not the 81st.</summary>
        public const double Epsilon = 1e-6;

        /// <summary>Creates an idle clock.</summary>
        /// <param name="prebufferSeconds">Speech to have received before starting (s, ≥ 0).</param>
        public PlaybackClock(double prebufferSeconds)
        {
            if (!(prebufferSeconds >= 0)) throw new ArgumentOutOfRangeException("prebufferSeconds", prebufferSeconds, "must be >= 0");
            PrebufferSeconds = prebufferSeconds;
        }

        /// <summary>Speech (s of utterance time) to have received before the clock starts.</summary>
        public double PrebufferSeconds { get; private set; }

        /// <summary>Current state.</summary>
        public PlaybackState State { get; private set; }

        /// <summary>Utterance time at the playhead (s); 0 until playing.</summary>
        public double Time { get; private set; }

        /// <summary>Back to <see cref="PlaybackState.Idle"/> at time 0.</summary>
        public void Reset()
        {
            State = PlaybackState.Idle;
            Time = 0;
        }

        /// <summary>A new utterance was requested: wait for its frames from time 0.</summary>
        public void Begin()
        {
            State = PlaybackState.Buffering;
            Time = 0;
        }

        /// <summary>Ends playback now (a cancel, or the stream failed with nothing left to play).</summary>
        public void Finish()
        {
            if (State != PlaybackState.Idle) State = PlaybackState.Finished;
        }

        /// <summary>Sets the clock from an outside time source (the audio), instead of render steps.</summary>
        /// <param name="time">Utterance time at the audible position (s); NaN while the audio has not started.</param>
        /// <param name="endTime">Time of the utterance's final frame once known; NaN while unknown.</param>
        /// <returns>The state after the step.</returns>
        public PlaybackState AdvanceTo(double time, double endTime)
        {
            if (State != PlaybackState.Buffering && State != PlaybackState.Playing) return State;
            if (double.IsNaN(time)) return State;
            State = PlaybackState.Playing;
            Time = Math.Max(0, time);
            if (!double.IsNaN(endTime) && Time >= endTime - Epsilon) State = PlaybackState.Finished;
            return State;
        }

        /// <summary>Advances the clock by one render step.</summary>
        /// <param name="dt">Render time elapsed since the previous call (s).</param>
        /// <param name="newestFrameTime">Time of the latest received frame; NaN when none.</param>
        /// <param name="endTime">Time of the utterance's final frame once known (the frame
        /// flagged last, or the latest one when the stream ended early); NaN while unknown.</param>
        /// <returns>The state after the step.</returns>
        public PlaybackState Advance(double dt, double newestFrameTime, double endTime)
        {
            if (dt < 0 || double.IsNaN(dt)) dt = 0;
            bool ended = !double.IsNaN(endTime);
            if (State == PlaybackState.Buffering)
            {
                bool enough = !double.IsNaN(newestFrameTime) && newestFrameTime >= PrebufferSeconds;
                if (!(enough || ended)) return State;
                // The step that completes the buffer only starts the clock: time 0 is shown
                // first, so the first frame is never skipped.
                State = PlaybackState.Playing;
                Time = 0;
                if (ended && endTime <= 0) State = PlaybackState.Finished;
                return State;
            }
            if (State != PlaybackState.Playing) return State;
            Time += dt;
            if (ended && Time >= endTime - Epsilon) State = PlaybackState.Finished;
            return State;
        }
    }
}
