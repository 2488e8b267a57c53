// Lips slaved to the sound: a simulated sound card plays streamed or clip audio for 60 s with
// drift, a hitch, a network stall and a pause; the lips must stay within one frame of what is heard.
using System;
using System.Collections.Generic;
using NUnit.Framework;
using Text2Lips.Core;

namespace Text2Lips.Tests
{
    /// <summary>
    /// A sound card as the engine sees it: it fetches the clip one DSP block at a time (so a
    /// sample written after its block was fetched is never heard), reports the position of the
    /// latest fetched block (Unity's timeSamples moves in such steps), runs on its own crystal
    /// (drift against the render clock) and keeps running while the render loop hitches.
    /// Every sample it fetches is decoded back to the utterance sample it carries.
    /// </summary>
    sealed class SimulatedCard : IAudioOutput
    {
        public const int Period = 30000; // sample values encode (index mod Period) + 1; 0 is silence
        readonly int _block;
        readonly double _drift;
        float[] _clip = new float[0];
        bool _loop;
        double _true;          // audible position (clip samples, laps unrolled)
        long _fetchedUntil;    // blocks fetched up to here
        readonly Dictionary<long, float> _fetched = new Dictionary<long, float>();
        long _lastDecoded = -1;
        long _oldestKept;

        public SimulatedCard(int blockSamples, double drift)
        {
            _block = blockSamples;
            _drift = drift;
            Heard = new List<long>();
        }

        public int SampleRate { get; private set; }
        public int LengthSamples { get { return _clip.Length; } }
        public bool IsPlaying { get; private set; }
        public int Position { get { return _clip.Length == 0 ? 0 : (int)(Math.Max(0, _fetchedUntil - _block) % _clip.Length); } }
        /// <summary>Every real utterance sample fetched, in the order heard.</summary>
        public List<long> Heard { get; private set; }
        public int Writes { get; private set; }

        public static short Encode(long index) { return (short)(1 + index % Period); }

        public void OpenStream(int sampleRate, int lengthSamples)
        {
            SampleRate = sampleRate;
            _clip = new float[lengthSamples];
            _loop = true;
            Reset();
        }

        /// <summary>Loads a one-shot clip (a game's voice-over).</summary>
        public void LoadClip(short[] pcm, int sampleRate)
        {
            SampleRate = sampleRate;
            _clip = new float[pcm.Length];
            for (int i = 0; i < pcm.Length; i++) _clip[i] = AudioChunk.ToFloat(pcm[i]);
            _loop = false;
            Reset();
        }

        void Reset()
        {
            IsPlaying = false;
            _true = 0;
            _fetchedUntil = 0;
            _fetched.Clear();
        }

        public void Write(int offset, float[] ring, int count)
        {
            Assert.AreEqual(StreamingAudio.WriteBlockSamples, count);
            Assert.That(offset % count == 0 && offset + count <= _clip.Length, "write outside the clip: " + offset);
            Array.Copy(ring, offset, _clip, offset, count);
            Writes++;
        }

        public void Play() { IsPlaying = true; Fetch(); }
        public void Pause() { IsPlaying = false; }
        public void UnPause() { IsPlaying = true; }
        public void Stop() { Reset(); }

        /// <summary>The audio thread's share of <paramref name="seconds"/> of wall time.</summary>
        public void Run(double seconds)
        {
            if (!IsPlaying) return;
            _true += seconds * SampleRate * (1 + _drift);
            if (!_loop && _true >= _clip.Length)
            {
                _true = _clip.Length;
                Fetch();
                IsPlaying = false; // a one-shot clip stops at its end
                return;
            }
            Fetch();
        }

        void Fetch()
        {
            while (_fetchedUntil <= _true)
            {
                for (long a = _fetchedUntil; a < _fetchedUntil + _block; a++)
                {
                    if (!_loop && a >= _clip.Length) break;
                    float v = _clip[(int)(a % _clip.Length)];
                    _fetched[a] = v;
                    long idx = Decode(v);
                    if (idx >= 0) Heard.Add(idx);
                }
                _fetchedUntil += _block;
            }
            while (_oldestKept < _fetchedUntil - 8 * _block) _fetched.Remove(_oldestKept++);
        }

        long Decode(float v)
        {
            int code = (int)Math.Round(v * 32768.0);
            if (code == 0) return -1;
            long k = code - 1, next = _lastDecoded + 1;
            long idx = next - ((next - k) % Period + Period) % Period; // ≡ k, at most next
            if (idx < next - Period / 2) idx += Period;
            _lastDecoded = idx;
            return idx;
        }

        /// <summary>The utterance sample audible now; -1 in silence.</summary>
        public long AudibleSample()
        {
            float v;
            if (!_fetched.TryGetValue((long)Math.Floor(_true), out v)) return -1;
            int code = (int)Math.Round(v * 32768.0);
            if (code == 0) return -1;
            long k = code - 1;
            // The most recent heard index with this residue.
            long last = _lastDecoded;
            long idx = last - ((last - k) % Period + Period) % Period;
            return idx;
        }
    }

    [TestFixture]
    public class AudioSyncTests
    {
        const int Rate = 22050;
        const double FrameRate = 80.0;
        const double Seconds = 60.0;
        const double OneFrame = 1.0 / FrameRate;

        static LipPlaybackSettings Raw()
        {
            return new LipPlaybackSettings { PrebufferSeconds = 0.1, SmoothingSeconds = 0, UnderrunHoldSeconds = 0.1, NeutralEaseSeconds = 0.05 };
        }

        /// <summary>One weight that says which time it belongs to: the lips' time can be read off it.</summary>
        static float[] WeightAt(double t) { return new[] { (float)(t / Seconds) }; }

        static short[] Voice(long from, int count)
        {
            var pcm = new short[count];
            for (int i = 0; i < count; i++) pcm[i] = SimulatedCard.Encode(from + i);
            return pcm;
        }

        sealed class Run
        {
            public double MaxError;
            public int Checked;
            public bool Finished;
            public double FinishedAt;
        }

        /// <summary>
        /// Renders at an irregular ~60 Hz with a 0.3 s hitch at 30 s and a 2 s game pause at 40 s,
        /// delivering network data at its arrival times, and compares the time the lips show with
        /// the utterance sample being heard on every rendered frame.
        /// </summary>
        static Run Play(SpeechPlayback playback, SimulatedCard card, SortedDictionary<double, List<Action>> arrivals, double hitchAt, double pauseAt)
        {
            var rng = new Random(7);
            var output = new float[1];
            var run = new Run();
            double now = 0;
            bool hitched = false, paused = false, resumed = false;
            var keys = new List<double>(arrivals.Keys);
            int next = 0;
            for (int frame = 0; frame < 200000 && !run.Finished; frame++)
            {
                double dt = 1.0 / 60 + (rng.NextDouble() - 0.5) * 0.008;
                if (!hitched && now >= hitchAt) { dt = 0.3; hitched = true; }
                card.Run(dt);
                now += dt;
                while (next < keys.Count && keys[next] <= now) { foreach (Action a in arrivals[keys[next]]) a(); next++; }
                if (!paused && now >= pauseAt) { playback.Pause(); paused = true; }
                if (paused && !resumed && now >= pauseAt + 2.0) { playback.Resume(); resumed = true; }
                PlayerEvents events = playback.Tick(dt, output);
                if ((events & PlayerEvents.Finished) != 0) { run.Finished = true; run.FinishedAt = now; }
                long heard = card.AudibleSample();
                if (heard < 0 || playback.Player.State != PlaybackState.Playing) continue;
                double shown = output[0] * Seconds; // the time of the frame the lips show
                double audible = heard / (double)Rate;
                if (audible > Seconds - OneFrame) continue; // past the final frame the lips hold it
                if (Math.Abs(shown - audible) > run.MaxError && Environment.GetEnvironmentVariable("T2L_DEBUG") != null)
                    Console.WriteLine("t=" + now + " shown=" + shown + " audible=" + audible + " clock=" + playback.Time);
                run.MaxError = Math.Max(run.MaxError, Math.Abs(shown - audible));
                run.Checked++;
            }
            return run;
        }

        static void AddArrival(SortedDictionary<double, List<Action>> arrivals, double at, Action a)
        {
            List<Action> list;
            if (!arrivals.TryGetValue(at, out list)) arrivals[at] = list = new List<Action>();
            list.Add(a);
        }

        [Test]
        public void StreamedVoiceKeepsTheLipsWithinOneFrameFor60Seconds()
        {
            var card = new SimulatedCard(blockSamples: 512, drift: 0.002);
            var playback = new SpeechPlayback(1, Raw(), card, new AudioSettingsCore { BlockSeconds = 512.0 / Rate });
            playback.Begin(SpeechMode.Streamed);
            // The server sends 0.25 s chunks (audio + its frames) at twice real time after 0.3 s,
            // with a 3 s network stall after 20 s of speech: the sound must stall, and the lips with it.
            var arrivals = new SortedDictionary<double, List<Action>>();
            int chunk = Rate / 4, frames = (int)(Seconds * FrameRate);
            long sent = 0;
            for (int k = 0; k * chunk < Seconds * Rate; k++)
            {
                long from = (long)k * chunk;
                double at = 0.3 + 0.125 * k + (k * 0.25 >= 20 ? 13.0 : 0);
                int kk = k;
                sent += chunk;
                AddArrival(arrivals, at, () =>
                {
                    playback.PushAudio(new AudioChunk(Voice(from, chunk), Rate, from / (double)Rate));
                    for (int i = (int)(kk * 0.25 * FrameRate); i < Math.Min(frames, (int)((kk + 1) * 0.25 * FrameRate)); i++)
                        playback.PushFrame(i, i / FrameRate, WeightAt(i / FrameRate), i == frames - 1);
                    if ((kk + 1) * chunk >= Seconds * Rate) playback.EndOfStream();
                });
            }
            Run run = Play(playback, card, arrivals, hitchAt: 30.0, pauseAt: 40.0);
            Console.WriteLine("streamed: max |lips - audio| = " + (run.MaxError * 1000).ToString("F2") + " ms over " + run.Checked + " frames, " + playback.Stream.Stalls + " stall(s)");

            Assert.IsTrue(run.Finished, "the utterance never finished");
            Assert.GreaterOrEqual(playback.Stream.Stalls, 1, "the network stall should have starved the sound");
            Assert.Greater(run.Checked, 3000);
            Assert.LessOrEqual(run.MaxError, OneFrame, "lips drifted from the sound by " + run.MaxError * 1000 + " ms");
            // Every sample was heard once, in order: no glitch from writing into fetched blocks.
            for (int i = 0; i < card.Heard.Count; i++)
                if (card.Heard[i] != i) Assert.Fail("sample " + i + " heard as " + card.Heard[i] + " (" + i / (double)Rate + " s)");
            Assert.AreEqual(sent, card.Heard.Count);
        }

        [Test]
        public void AGameClipDrivesTheLipsThroughAHitchAndAPause()
        {
            var card = new SimulatedCard(blockSamples: 1024, drift: -0.001);
            card.LoadClip(Voice(0, (int)(Seconds * Rate)), Rate);
            var playback = new SpeechPlayback(1, Raw(), card, new AudioSettingsCore { BlockSeconds = 1024.0 / Rate });
            playback.Begin(SpeechMode.Clip);
            int frames = (int)(Seconds * FrameRate);
            for (int i = 0; i < frames; i++) playback.PushFrame(i, i / FrameRate, WeightAt(i / FrameRate), i == frames - 1);
            playback.EndOfStream();
            Run run = Play(playback, card, new SortedDictionary<double, List<Action>>(), hitchAt: 12.0, pauseAt: 25.0);
            Console.WriteLine("clip: max |lips - audio| = " + (run.MaxError * 1000).ToString("F2") + " ms over " + run.Checked + " frames");

            Assert.IsTrue(run.Finished);
            Assert.Greater(run.Checked, 3000);
            Assert.LessOrEqual(run.MaxError, OneFrame, "lips drifted from the clip by " + run.MaxError * 1000 + " ms");
            Assert.AreEqual(Seconds + 2.0 + 0.0, run.FinishedAt, 0.1, "the pause must delay the end by its length");
        }

        [Test]
        public void AGameClipWaitsForTheLipsPrebufferThenPlaysInSync()
        {
            // Speak(text, clip): the clip is the game's; the frames still come from the sidecar.
            var card = new SimulatedCard(blockSamples: 512, drift: 0.001);
            card.LoadClip(Voice(0, 10 * Rate), Rate);
            var playback = new SpeechPlayback(1, Raw(), card, new AudioSettingsCore { BlockSeconds = 512.0 / Rate });
            playback.Begin(SpeechMode.Clip);
            var arrivals = new SortedDictionary<double, List<Action>>();
            int frames = 800;
            for (int i = 0; i < frames; i++)
            {
                int f = i;
                // First frame after 0.4 s, then four times real time.
                AddArrival(arrivals, 0.4 + f / FrameRate / 4, () => playback.PushFrame(f, f / FrameRate, WeightAt(f / FrameRate), f == frames - 1));
            }
            AddArrival(arrivals, 0.4 + frames / FrameRate / 4, () => playback.EndOfStream());
            var output = new float[1];
            double now = 0;
            var keys = new List<double>(arrivals.Keys);
            int next = 0;
            bool startedEarly = false;
            while (now < 0.42)
            {
                card.Run(1.0 / 60);
                now += 1.0 / 60;
                while (next < keys.Count && keys[next] <= now) { foreach (Action a in arrivals[keys[next]]) a(); next++; }
                playback.Tick(1.0 / 60, output);
                startedEarly |= card.IsPlaying && playback.Player.Buffer.NewestTime < 0.1 - 1e-9;
            }
            Assert.IsFalse(startedEarly, "the clip must wait for the lips' prebuffer");
            var rest = new SortedDictionary<double, List<Action>>();
            for (int k = next; k < keys.Count; k++) rest[keys[k] - now] = arrivals[keys[k]];
            Run run = Play(playback, card, rest, hitchAt: 4.0, pauseAt: 6.0);
            Assert.IsTrue(run.Finished);
            Assert.Greater(run.Checked, 400);
            Assert.LessOrEqual(run.MaxError, OneFrame, "lips drifted from the clip by " + run.MaxError * 1000 + " ms");
        }

        [Test]
        public void WithoutAnyAudioTheLinePlaysSilentlyOnRenderTime()
        {
            var card = new SimulatedCard(blockSamples: 512, drift: 0);
            var playback = new SpeechPlayback(1, Raw(), card);
            playback.Begin(SpeechMode.Streamed);
            for (int i = 0; i < 160; i++) playback.PushFrame(i, i / FrameRate, WeightAt(i / FrameRate), i == 159);
            playback.EndOfStream();
            var output = new float[1];
            int ticks = 0;
            PlayerEvents events = PlayerEvents.None;
            while ((events & PlayerEvents.Finished) == 0 && ticks < 1000) { events = playback.Tick(1.0 / 80, output); ticks++; }
            Assert.AreEqual(SpeechMode.LipsOnly, playback.Mode);
            Assert.AreEqual(160, ticks, "frame 0 on the first tick, frame 159 (and the end) 159 ticks later");
            Assert.IsFalse(card.IsPlaying);
        }

        [Test]
        public void StopEndsSoundAndLipsOnTheNextTick()
        {
            var card = new SimulatedCard(blockSamples: 512, drift: 0);
            var playback = new SpeechPlayback(1, Raw(), card);
            playback.Begin(SpeechMode.Streamed);
            playback.PushAudio(new AudioChunk(Voice(0, Rate), Rate, 0));
            for (int i = 0; i < 80; i++) playback.PushFrame(i, i / FrameRate, WeightAt(i / FrameRate), false);
            var output = new float[1];
            for (int i = 0; i < 5; i++) { card.Run(1.0 / 60); playback.Tick(1.0 / 60, output); }
            Assert.IsTrue(card.IsPlaying);
            playback.Stop();
            Assert.IsFalse(card.IsPlaying);
            Assert.AreNotEqual(PlayerEvents.None, playback.Tick(1.0 / 60, output) & PlayerEvents.Finished);
            Assert.IsFalse(playback.IsBusy);
        }

        [Test]
        public void ChunksWithGapsAndOverlapsLandOnTheirTimes()
        {
            var card = new SimulatedCard(blockSamples: 256, drift: 0);
            var audio = new StreamingAudio(card, prebufferSeconds: 0);
            audio.Begin();
            audio.Push(new AudioChunk(Voice(0, 1000), Rate, 0));
            audio.Push(new AudioChunk(Voice(500, 1000), Rate, 500.0 / Rate));   // overlaps: the new part only
            audio.Push(new AudioChunk(Voice(3000, 1000), Rate, 3000.0 / Rate)); // a gap of silence before it
            audio.Push(new AudioChunk(Voice(0, 10), 16000, 0));                  // another rate: rejected
            audio.EndOfStream();
            Assert.AreEqual(1, audio.RejectedChunks);
            Assert.AreEqual(4000.0 / Rate, audio.ReceivedSeconds, 1e-9);
            while (audio.Pump() != AudioState.Finished) card.Run(0.01);
            var expected = new List<long>();
            for (long i = 0; i < 1500; i++) expected.Add(i);
            for (long i = 3000; i < 4000; i++) expected.Add(i);
            CollectionAssert.AreEqual(expected, card.Heard);
        }

        [Test]
        public void TheClockStaysInsideTheReportedWindowAndHoldsWhilePaused()
        {
            var clock = new AudioSyncClock(blockSeconds: 0.02);
            Assert.AreEqual(1.0, clock.Update(1.0, true, 0.016), 1e-12, "starts at the reported position");
            Assert.AreEqual(1.016, clock.Update(1.0, true, 0.016), 0.002);
            Assert.AreEqual(1.02, clock.Update(1.0, true, 0.5), 1e-12, "never more than a block ahead");
            Assert.AreEqual(2.0, clock.Update(2.0, true, 0.016), 1e-12, "a jump forward snaps");
            double held = clock.Update(2.0, false, 5.0);
            Assert.AreEqual(2.0, held, 1e-12, "paused: no render time is added");
        }
    }
}
