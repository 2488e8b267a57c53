// Received lip frames of one utterance, ordered by their timestamps, sampled at any time.
using System;
using System.Collections.Generic;

namespace Text2Lips.Core
{
    /// <summary>What <see cref="FrameBuffer.Push"/> did with a frame.</summary>
    public enum PushResult
    {
        /// <summary>Stored; it will be played.</summary>
        Accepted,
        /// <summary>A frame with the same index is already stored (a retransmission); ignored.</summary>
        Duplicate,
        /// <summary>Its time was already played and discarded; ignored.</summary>
        Late,
        /// <summary>Wrong number of weights, or a time that is not a finite number ≥ 0; ignored.</summary>
        Rejected,
    }

    /// <summary>Where a sample time falls relative to the stored frames.</summary>
    public enum SampleStatus
    {
        /// <summary>No frame stored; the output was left untouched.</summary>
        Empty,
        /// <summary>Before the earliest stored frame; the output holds that frame.</summary>
        BeforeFirst,
        /// <summary>Between two stored frames (or exactly on one); the output is their lerp.</summary>
        Interpolated,
        /// <summary>After the latest stored frame; the output holds that frame.</summary>
        AfterLast,
    }

    /// <summary>
    /// Frames of one utterance kept in timestamp order, whatever order they arrive in.
    /// Missing frames are bridged by interpolating between their neighbours; duplicates and
    /// frames older than what was already played are dropped. Weight arrays are pooled, so
    /// steady playback allocates nothing. Not thread-safe: push and sample from one thread.
    /// </summary>
    public sealed class FrameBuffer
    {
        struct Slot
        {
            public long Index;
            public double Time;
            public float[] Weights;
            public bool Last;
        }

        readonly List<Slot> _slots;
        readonly Stack<float[]> _pool = new Stack<float[]>();
        double _discardedBefore = double.NegativeInfinity;

        /// <summary>Creates a buffer for frames of <paramref name="weightCount"/> weights.</summary>
        /// <param name="weightCount">Weights per frame (ModelInfo.blendshape_names.Count).</param>
        /// <param name="initialCapacity">Frames stored before the first growth.</param>
        public FrameBuffer(int weightCount, int initialCapacity = 256)
        {
            if (weightCount <= 0) throw new ArgumentOutOfRangeException("weightCount", weightCount, "must be > 0");
            WeightCount = weightCount;
            _slots = new List<Slot>(Math.Max(1, initialCapacity));
        }

        /// <summary>Weights per frame.</summary>
        public int WeightCount { get; private set; }

        /// <summary>Frames stored now.</summary>
        public int Count { get { return _slots.Count; } }

        /// <summary>Frames accepted since the last <see cref="Clear"/>.</summary>
        public int AcceptedFrames { get; private set; }

        /// <summary>Frames ignored as duplicates since the last <see cref="Clear"/>.</summary>
        public int DuplicateFrames { get; private set; }

        /// <summary>Frames ignored as too late since the last <see cref="Clear"/>.</summary>
        public int LateFrames { get; private set; }

        /// <summary>Frames rejected as malformed since the last <see cref="Clear"/>.</summary>
        public int RejectedFrames { get; private set; }

        /// <summary>True once the frame flagged as the utterance's last has arrived.</summary>
        public bool LastReceived { get; private set; }

        /// <summary>Time (s) of the frame flagged last; NaN until it arrives.</summary>
        public double LastFrameTime { get; private set; }

        /// <summary>Time (s) of the latest stored frame; NaN when empty.</summary>
        public double NewestTime { get { return _slots.Count == 0 ? double.NaN : _slots[_slots.Count - 1].Time; } }

        /// <summary>Time (s) of the earliest stored frame; NaN when empty.</summary>
        public double OldestTime { get { return _slots.Count == 0 ? double.NaN : _slots[0].Time; } }

        /// <summary>Forgets every frame and counter, for a new utterance. Keeps the pooled arrays.</summary>
        public void Clear()
        {
            for (int i = 0; i < _slots.Count; i++) _pool.Push(_slots[i].Weights);
            _slots.Clear();
            _discardedBefore = double.NegativeInfinity;
            AcceptedFrames = DuplicateFrames = LateFrames = RejectedFrames = 0;
            LastReceived = false;
            LastFrameTime = double.NaN;
        }

        /// <summary>Stores a frame in timestamp order (copying its weights).</summary>
        /// <param name="index">Frame index within the utterance (LipFrame.index); identifies duplicates.</param>
        /// <param name="timeSeconds">When to show it, from the utterance start (LipFrame.time_s).</param>
        /// <param name="weights">Its weights, <see cref="WeightCount"/> of them (LipFrame.blendshapes).</param>
        /// <param name="last">Whether it is the utterance's final frame (LipFrame.last).</param>
        public PushResult Push(long index, double timeSeconds, IList<float> weights, bool last)
        {
            if (weights == null || weights.Count != WeightCount || double.IsNaN(timeSeconds)
                || double.IsInfinity(timeSeconds) || timeSeconds < 0)
            {
                RejectedFrames++;
                return PushResult.Rejected;
            }
            if (timeSeconds < _discardedBefore)
            {
                LateFrames++;
                return PushResult.Late;
            }
            int pos = UpperBound(timeSeconds);
            // Frames arrive in order almost always, so a duplicate sits at the end: scan back
            // over the (few) frames that share or follow its time.
            for (int i = _slots.Count - 1; i >= 0 && _slots[i].Time >= timeSeconds - 1e-9; i--)
            {
                if (_slots[i].Index == index)
                {
                    DuplicateFrames++;
                    return PushResult.Duplicate;
                }
            }
            float[] w = _pool.Count > 0 ? _pool.Pop() : new float[WeightCount];
            for (int k = 0; k < WeightCount; k++) w[k] = weights[k];
            _slots.Insert(pos, new Slot { Index = index, Time = timeSeconds, Weights = w, Last = last });
            AcceptedFrames++;
            if (last)
            {
                LastReceived = true;
                LastFrameTime = timeSeconds;
            }
            return PushResult.Accepted;
        }

        /// <summary>
        /// Writes the weights at <paramref name="timeSeconds"/> into <paramref name="output"/>:
        /// the linear interpolation of the two frames that bracket it, or the nearest end frame
        /// outside them. The frames' own times are used, so gaps left by missing frames are
        /// bridged and any render rate works.
        /// </summary>
        public SampleStatus Sample(double timeSeconds, float[] output)
        {
            if (output == null || output.Length < WeightCount) throw new ArgumentException("output must hold WeightCount weights", "output");
            int n = _slots.Count;
            if (n == 0) return SampleStatus.Empty;
            if (timeSeconds < _slots[0].Time)
            {
                Array.Copy(_slots[0].Weights, output, WeightCount);
                return SampleStatus.BeforeFirst;
            }
            int right = UpperBound(timeSeconds); // first frame strictly after the time
            if (right >= n)
            {
                Array.Copy(_slots[n - 1].Weights, output, WeightCount);
                // Exactly on the final frame is still inside the utterance.
                return _slots[n - 1].Time == timeSeconds ? SampleStatus.Interpolated : SampleStatus.AfterLast;
            }
            Slot a = _slots[right - 1], b = _slots[right];
            LipMath.Lerp(a.Weights, b.Weights, (float)((timeSeconds - a.Time) / (b.Time - a.Time)), output, WeightCount);
            return SampleStatus.Interpolated;
        }

        /// <summary>
        /// Recycles frames no longer needed to sample at <paramref name="timeSeconds"/> or later
        /// (all before it but the one that brackets it), and marks frames older than the kept one
        /// as late from now on.
        /// </summary>
        public void DiscardBefore(double timeSeconds)
        {
            int keep = UpperBound(timeSeconds) - 1; // the frame at or before the time
            if (keep <= 0) return;
            for (int i = 0; i < keep; i++) _pool.Push(_slots[i].Weights);
            _discardedBefore = Math.Max(_discardedBefore, _slots[keep].Time);
            _slots.RemoveRange(0, keep);
        }

        /// <summary>Index of the first slot whose time is strictly greater than t.</summary>
        int UpperBound(double t)
        {
            int lo = 0, hi = _slots.Count;
            // Most pushes append and most samples land near the end: check the tail first.
            if (hi > 0 && _slots[hi - 1].Time <= t) return hi;
            while (lo < hi)
            {
                int mid = (lo + hi) >> 1;
                if (_slots[mid].Time <= t) lo = mid + 1; else hi = mid;
            }
            return lo;
        }
    }
}
