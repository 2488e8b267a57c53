// LipSyncPlayer and PlaybackClock: timing by timestamps at any render rate, with a real network's faults.
using System;
using System.Collections.Generic;
using NUnit.Framework;
using Text2Lips.Core;

namespace Text2Lips.Tests
{
    [TestFixture]
    public class LipSyncPlayerTests
    {
        const double FrameRate = 80.0;
        const int Frames = 160; // a 2 s utterance

        /// <summary>A weight curve that is not linear, so interpolation errors show.</summary>
        static float Curve(int frame, int channel)
        {
            double t = frame / FrameRate;
            return (float)(0.5 + 0.4 * Math.Sin(2 * Math.PI * (1.3 + channel) * t));
        }

        static float[] FrameWeights(int frame)
        {
            return new[] { Curve(frame, 0), Curve(frame, 1) };
        }

        /// <summary>What a correct player shows at utterance time t: the lerp of the bracketing frames.</summary>
        static float Expected(double t, int channel, ICollection<int> present = null)
        {
            int lo = (int)Math.Floor(t * FrameRate + 1e-9), hi = lo + 1;
            if (present != null)
            {
                while (lo > 0 && !present.Contains(lo)) lo--;
                while (hi < Frames - 1 && !present.Contains(hi)) hi++;
            }
            if (lo >= Frames - 1) return Curve(Frames - 1, channel);
            double u = (t - lo / FrameRate) / ((hi - lo) / FrameRate);
            return (float)(Curve(lo, channel) + (Curve(hi, channel) - Curve(lo, channel)) * u);
        }

        static LipPlaybackSettings Raw(double prebuffer = 0)
        {
            // No smoothing: the output is exactly the interpolated frames.
            return new LipPlaybackSettings { PrebufferSeconds = prebuffer, SmoothingSeconds = 0, UnderrunHoldSeconds = 0.1, NeutralEaseSeconds = 0.05 };
        }

        static void PushAll(LipSyncPlayer p, IEnumerable<int> order)
        {
            foreach (int i in order) p.Push(i, i / FrameRate, FrameWeights(i), i == Frames - 1);
        }

        static IEnumerable<int> Range(int from, int to)
        {
            for (int i = from; i < to; i++) yield return i;
        }

        /// <summary>Plays a fully received utterance at a fixed render rate and checks every rendered frame.</summary>
        [TestCase(60.0)]
        [TestCase(144.0)]
        [TestCase(30.0)]
        [TestCase(80.0)]
        public void PlaysByTimestampsAtAnyRenderRate(double renderRate)
        {
            var p = new LipSyncPlayer(2, Raw());
            p.Begin();
            PushAll(p, Range(0, Frames)); // early: everything arrives before playback starts
            var o = new float[2];
            Assert.AreEqual(PlayerEvents.Started, p.Tick(1 / renderRate, o) & PlayerEvents.Started);
            Assert.AreEqual(Curve(0, 0), o[0], 1e-5);
            double t = 0;
            int ticks = 0;
            while (p.State == PlaybackState.Playing)
            {
                PlayerEvents e = p.Tick(1 / renderRate, o);
                t += 1 / renderRate;
                ticks++;
                if (p.State != PlaybackState.Playing) break;
                Assert.AreEqual(t, p.Time, 1e-9);
                Assert.AreEqual(Expected(t, 0), o[0], 1e-4, "t=" + t);
                Assert.AreEqual(Expected(t, 1), o[1], 1e-4, "t=" + t);
                Assert.AreEqual(PlayerEvents.None, e & PlayerEvents.Finished);
            }
            // It finished on the first tick at or after the final frame's time.
            double end = (Frames - 1) / FrameRate;
            Assert.GreaterOrEqual(t, end - PlaybackClock.Epsilon);
            Assert.Less(t - 1 / renderRate, end - PlaybackClock.Epsilon);
        }

        [Test]
        public void IrregularRenderStepsStayOnTheTimeline()
        {
            var rng = new Random(7);
            var p = new LipSyncPlayer(2, Raw());
            p.Begin();
            PushAll(p, Range(0, Frames));
            var o = new float[2];
            p.Tick(0, o);
            double t = 0;
            while (true)
            {
                double dt = 0.004 + 0.03 * rng.NextDouble();
                p.Tick(dt, o);
                t += dt;
                if (p.State != PlaybackState.Playing) break;
                Assert.AreEqual(Expected(t, 0), o[0], 1e-4, "t=" + t);
            }
        }

        [Test]
        public void OutOfOrderAndDuplicateArrivalPlaysTheSame()
        {
            var order = new List<int>();
            var rng = new Random(3);
            for (int start = 0; start < Frames; start += 8)
            {
                var chunk = new List<int>(Range(start, Math.Min(Frames, start + 8)));
                for (int i = chunk.Count - 1; i > 0; i--)
                {
                    int j = rng.Next(i + 1);
                    int tmp = chunk[i]; chunk[i] = chunk[j]; chunk[j] = tmp;
                }
                order.AddRange(chunk);
                order.AddRange(chunk.GetRange(0, chunk.Count / 2)); // retransmitted
            }
            var p = new LipSyncPlayer(2, Raw(prebuffer: 0.05));
            p.Begin();
            var o = new float[2];
            // Frames trickle in at real time, a little ahead of the playhead.
            int pushed = 0;
            double t = 0;
            bool started = false;
            for (int tick = 0; tick < 400 && p.State != PlaybackState.Finished; tick++)
            {
                while (pushed < order.Count && order[pushed] / FrameRate <= t + 0.2)
                {
                    int i = order[pushed++];
                    p.Push(i, i / FrameRate, FrameWeights(i), i == Frames - 1);
                }
                PlayerEvents e = p.Tick(1 / 60.0, o);
                if ((e & PlayerEvents.Started) != 0) started = true;
                else if (started) t += 1 / 60.0;
                if (started && p.State == PlaybackState.Playing)
                {
                    Assert.AreEqual(Expected(t, 0), o[0], 1e-4, "t=" + t);
                    Assert.IsFalse(p.InUnderrun);
                }
            }
            Assert.AreEqual(PlaybackState.Finished, p.State);
            Assert.Greater(p.Buffer.DuplicateFrames, 0);
        }

        [Test]
        public void MissingFramesAreInterpolatedAcross()
        {
            var present = new HashSet<int>();
            for (int i = 0; i < Frames; i++) if (i % 3 != 1 || i == Frames - 1) present.Add(i);
            var p = new LipSyncPlayer(2, Raw());
            p.Begin();
            PushAll(p, present);
            var o = new float[2];
            p.Tick(0, o);
            double t = 0;
            for (int tick = 0; tick < 100; tick++)
            {
                p.Tick(1 / 60.0, o);
                t += 1 / 60.0;
                Assert.AreEqual(Expected(t, 0, present), o[0], 1e-4, "t=" + t);
            }
        }

        [Test]
        public void WaitsForThePrebufferBeforeStarting()
        {
            var p = new LipSyncPlayer(2, Raw(prebuffer: 0.1));
            p.Begin();
            var o = new float[2];
            Assert.AreEqual(PlayerEvents.None, p.Tick(0.5, o));
            Assert.AreEqual(PlaybackState.Buffering, p.State);
            PushAll(p, Range(0, 7)); // up to 0.075 s: not enough
            Assert.AreEqual(PlayerEvents.None, p.Tick(0.5, o));
            Assert.AreEqual(0.0, p.Time);
            PushAll(p, Range(7, 9)); // up to 0.1 s
            Assert.AreEqual(PlayerEvents.Started, p.Tick(0.5, o));
            // The long wait did not move the clock: playback starts at the first frame.
            Assert.AreEqual(0.0, p.Time);
            Assert.AreEqual(Curve(0, 0), o[0], 1e-6);
            Assert.IsTrue(p.IsBusy);
        }

        [Test]
        public void LateFramesAreSkippedAndTheClockKeepsRunning()
        {
            var p = new LipSyncPlayer(2, Raw());
            p.Begin();
            PushAll(p, Range(0, 40)); // 0 .. 0.4875 s
            var o = new float[2];
            p.Tick(0, o);
            double t = 0;
            bool began = false, ended = false;
            for (int tick = 0; tick < 60; tick++) // 1 s at 60 Hz: runs out of frames at 0.4875 s
            {
                PlayerEvents e = p.Tick(1 / 60.0, o);
                t += 1 / 60.0;
                began |= (e & PlayerEvents.UnderrunBegan) != 0;
                double behind = t - 39 / FrameRate;
                if (behind > 0 && behind <= 0.1) Assert.AreEqual(Curve(39, 0), o[0], 1e-6, "holds the last frame");
            }
            Assert.IsTrue(began);
            Assert.IsTrue(p.InUnderrun);
            Assert.AreEqual(0f, o[0], 1e-3, "eased to neutral after the hold");
            // The frames for 0.4875 .. 1 s finally arrive; those already past are dropped, and
            // playback continues where the clock is, not where the frames stopped.
            PushAll(p, Range(40, Frames));
            PlayerEvents after = p.Tick(1 / 60.0, o);
            t += 1 / 60.0;
            ended = (after & PlayerEvents.UnderrunEnded) != 0;
            Assert.IsTrue(ended);
            Assert.AreEqual(t, p.Time, 1e-9);
            Assert.AreEqual(Expected(t, 0), o[0], 1e-4);
            Assert.AreEqual(PushResult.Late, p.Push(50, 50 / FrameRate, FrameWeights(50), false), "already played");
            p.Tick(1 / 60.0, o);
            t += 1 / 60.0;
            Assert.AreEqual(Expected(t, 0), o[0], 1e-4);
        }

        [Test]
        public void FinishesAtTheFinalFrameAndEasesToNeutral()
        {
            var p = new LipSyncPlayer(2, Raw());
            p.Begin();
            PushAll(p, Range(0, 8)); // frame 7 is not last: Frames - 1 is
            p.Push(8, 8 / FrameRate, new[] { 0.9f, 0.9f }, true);
            var o = new float[2];
            p.Tick(0, o);
            int finishedAt = -1;
            for (int tick = 1; tick <= 20; tick++)
            {
                PlayerEvents e = p.Tick(1 / 64.0, o); // exact in binary, so the count is exact
                if ((e & PlayerEvents.Finished) != 0)
                {
                    Assert.AreEqual(-1, finishedAt, "finished once");
                    finishedAt = tick;
                }
            }
            Assert.AreEqual(7, finishedAt, "7/64 s is the first tick at or after 8/80 s");
            Assert.IsFalse(p.IsBusy);
            Assert.AreEqual(PlaybackState.Finished, p.State);
            for (int tick = 0; tick < 100; tick++) p.Tick(0.01, o);
            Assert.AreEqual(0f, o[0], 1e-4);
            Assert.AreEqual(PushResult.Late, p.Push(9, 9 / FrameRate, new[] { 1f, 1f }, false), "nothing plays after the end");
        }

        [Test]
        public void AStreamThatEndsWithoutItsLastFrameFinishesAfterWhatArrived()
        {
            var p = new LipSyncPlayer(2, Raw());
            p.Begin();
            PushAll(p, Range(0, 20));
            p.EndOfStream();
            var o = new float[2];
            p.Tick(0, o);
            double t = 0;
            while (p.State == PlaybackState.Playing)
            {
                p.Tick(1 / 60.0, o);
                t += 1 / 60.0;
            }
            Assert.AreEqual(PlaybackState.Finished, p.State);
            Assert.GreaterOrEqual(t, 19 / FrameRate - 1e-9);
            Assert.Less(t, 19 / FrameRate + 1 / 60.0);

            var empty = new LipSyncPlayer(2, Raw(prebuffer: 0.1));
            empty.Begin();
            empty.EndOfStream();
            Assert.AreEqual(PlayerEvents.Started | PlayerEvents.Finished, empty.Tick(0.016, o));
        }

        [Test]
        public void StopFinishesAtOnce()
        {
            var p = new LipSyncPlayer(2, Raw());
            p.Begin();
            PushAll(p, Range(0, Frames));
            var o = new float[2];
            p.Tick(0, o);
            p.Tick(0.2, o);
            p.Stop();
            Assert.AreEqual(PlayerEvents.Finished, p.Tick(0.01, o) & PlayerEvents.Finished, "the next tick reports it");
            Assert.AreEqual(PlaybackState.Finished, p.State);
            Assert.AreEqual(PlayerEvents.None, p.Tick(0.01, o) & PlayerEvents.Finished, "once");
            for (int tick = 0; tick < 100; tick++) p.Tick(0.01, o);
            Assert.AreEqual(0f, o[0], 1e-4);
            // A new utterance after a stop plays from its own start.
            p.Begin();
            PushAll(p, Range(0, Frames));
            Assert.AreEqual(PlayerEvents.Started, p.Tick(0, o) & PlayerEvents.Started);
            Assert.AreEqual(0.0, p.Time);
        }

        [Test]
        public void SmoothingDoesNotDependOnTheRenderRate()
        {
            var results = new List<float>();
            foreach (double rate in new[] { 30.0, 60.0, 240.0 })
            {
                var p = new LipSyncPlayer(1, new LipPlaybackSettings { PrebufferSeconds = 0, SmoothingSeconds = 0.05 });
                p.Begin();
                for (int i = 0; i < 200; i++) p.Push(i, i / FrameRate, new[] { 1f }, false); // a step from 0 to 1
                var o = new float[1];
                p.Tick(0, o);
                for (int k = 0; k < (int)Math.Round(0.1 * rate); k++) p.Tick(1 / rate, o);
                results.Add(o[0]);
            }
            double expected = 1 - Math.Exp(-0.1 / 0.05);
            foreach (float r in results) Assert.AreEqual(expected, r, 1e-4);
        }

        [Test]
        public void ClockStepsAreNeverNegative()
        {
            var clock = new PlaybackClock(0);
            clock.Begin();
            Assert.AreEqual(PlaybackState.Playing, clock.Advance(1, 0.5, double.NaN));
            clock.Advance(0.2, 0.5, double.NaN);
            clock.Advance(-5, 0.5, double.NaN);
            clock.Advance(double.NaN, 0.5, double.NaN);
            Assert.AreEqual(0.2, clock.Time, 1e-12);
            Assert.AreEqual(PlaybackState.Finished, clock.Advance(0.3, 0.5, 0.5));
            clock.Reset();
            Assert.AreEqual(PlaybackState.Idle, clock.State);
            Assert.Throws<ArgumentOutOfRangeException>(() => new PlaybackClock(-1));
        }
    }
}
