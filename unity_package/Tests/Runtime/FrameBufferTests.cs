// FrameBuffer: ordering, duplicates, late and missing frames, and interpolation between frames.
using NUnit.Framework;
using Text2Lips.Core;

namespace Text2Lips.Tests
{
    [TestFixture]
    public class FrameBufferTests
    {
        const double Dt = 1.0 / 80.0;

        static float[] W(float a, float b) { return new[] { a, b }; }

        static FrameBuffer Filled(params int[] indices)
        {
            var buffer = new FrameBuffer(2);
            foreach (int i in indices) Assert.AreEqual(PushResult.Accepted, buffer.Push(i, i * Dt, W(i, 10 * i), false));
            return buffer;
        }

        [Test]
        public void InterpolatesBetweenTheBracketingFrames()
        {
            FrameBuffer buffer = Filled(0, 1, 2, 3);
            var o = new float[2];
            Assert.AreEqual(SampleStatus.Interpolated, buffer.Sample(1.25 * Dt, o));
            Assert.AreEqual(1.25f, o[0], 1e-5);
            Assert.AreEqual(12.5f, o[1], 1e-4);
            Assert.AreEqual(SampleStatus.Interpolated, buffer.Sample(2 * Dt, o));
            Assert.AreEqual(2f, o[0], 1e-5);
        }

        [Test]
        public void OutOfOrderArrivalIsSortedByTime()
        {
            FrameBuffer buffer = Filled(3, 0, 2, 1);
            var o = new float[2];
            for (int k = 0; k <= 30; k++)
            {
                double t = k * 0.1 * Dt;
                buffer.Sample(t, o);
                Assert.AreEqual((float)(t / Dt), o[0], 1e-4, "t=" + t);
            }
            Assert.AreEqual(0.0, buffer.OldestTime, 1e-12);
            Assert.AreEqual(3 * Dt, buffer.NewestTime, 1e-12);
        }

        [Test]
        public void MissingFramesAreBridgedByTheirNeighbours()
        {
            var buffer = new FrameBuffer(2);
            buffer.Push(1, 1 * Dt, W(1f, 0f), false);
            buffer.Push(4, 4 * Dt, W(7f, 3f), false); // 2 and 3 never arrive
            var o = new float[2];
            Assert.AreEqual(SampleStatus.Interpolated, buffer.Sample(2 * Dt, o));
            Assert.AreEqual(3f, o[0], 1e-5);
            Assert.AreEqual(1f, o[1], 1e-5);
        }

        [Test]
        public void DuplicatesAreIgnored()
        {
            FrameBuffer buffer = Filled(0, 1, 2);
            Assert.AreEqual(PushResult.Duplicate, buffer.Push(1, Dt, W(99f, 99f), false));
            Assert.AreEqual(PushResult.Duplicate, buffer.Push(2, 2 * Dt, W(99f, 99f), false));
            Assert.AreEqual(3, buffer.Count);
            Assert.AreEqual(2, buffer.DuplicateFrames);
            var o = new float[2];
            buffer.Sample(Dt, o);
            Assert.AreEqual(1f, o[0], 1e-6);
        }

        [Test]
        public void FramesOlderThanThePlayedOnesAreLate()
        {
            FrameBuffer buffer = Filled(0, 1, 3, 4, 5);
            buffer.DiscardBefore(3.5 * Dt); // keeps frame 3, which brackets 3.5
            Assert.AreEqual(3, buffer.Count);
            Assert.AreEqual(PushResult.Late, buffer.Push(2, 2 * Dt, W(2, 20), false));
            Assert.AreEqual(PushResult.Duplicate, buffer.Push(3, 3 * Dt, W(3, 30), false));
            Assert.AreEqual(1, buffer.LateFrames);
            var o = new float[2];
            buffer.Sample(3.5 * Dt, o);
            Assert.AreEqual(3.5f, o[0], 1e-5);
        }

        [Test]
        public void OutsideTheFramesTheNearestEndIsHeld()
        {
            var buffer = new FrameBuffer(2);
            var o = new float[] { -1f, -1f };
            Assert.AreEqual(SampleStatus.Empty, buffer.Sample(0, o));
            Assert.AreEqual(-1f, o[0]);
            buffer.Push(2, 2 * Dt, W(2, 20), false);
            buffer.Push(3, 3 * Dt, W(3, 30), false);
            Assert.AreEqual(SampleStatus.BeforeFirst, buffer.Sample(0, o));
            Assert.AreEqual(2f, o[0]);
            Assert.AreEqual(SampleStatus.Interpolated, buffer.Sample(3 * Dt, o));
            Assert.AreEqual(SampleStatus.AfterLast, buffer.Sample(3.01 * Dt, o));
            Assert.AreEqual(3f, o[0]);
        }

        [Test]
        public void MalformedFramesAreRejected()
        {
            var buffer = new FrameBuffer(2);
            Assert.AreEqual(PushResult.Rejected, buffer.Push(0, 0, new[] { 1f }, false));
            Assert.AreEqual(PushResult.Rejected, buffer.Push(0, double.NaN, W(0, 0), false));
            Assert.AreEqual(PushResult.Rejected, buffer.Push(0, -1, W(0, 0), false));
            Assert.AreEqual(0, buffer.Count);
            Assert.AreEqual(3, buffer.RejectedFrames);
        }

        [Test]
        public void TheLastFlagIsRememberedAndClearForgetsEverything()
        {
            FrameBuffer buffer = Filled(0, 1);
            Assert.IsFalse(buffer.LastReceived);
            buffer.Push(2, 2 * Dt, W(2, 20), true);
            Assert.IsTrue(buffer.LastReceived);
            Assert.AreEqual(2 * Dt, buffer.LastFrameTime, 1e-12);
            buffer.DiscardBefore(2 * Dt);
            buffer.Clear();
            Assert.AreEqual(0, buffer.Count);
            Assert.IsFalse(buffer.LastReceived);
            Assert.AreEqual(PushResult.Accepted, buffer.Push(0, 0, W(0, 0), false), "a new utterance starts over");
        }

        [Test]
        public void CopiesTheWeightsItIsGiven()
        {
            var buffer = new FrameBuffer(2);
            float[] w = W(1, 2);
            buffer.Push(0, 0, w, false);
            w[0] = 50f;
            var o = new float[2];
            buffer.Sample(0, o);
            Assert.AreEqual(1f, o[0]);
        }
    }
}
