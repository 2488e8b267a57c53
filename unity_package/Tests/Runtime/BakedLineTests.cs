// Baked lines in the core: the .t2lb layout read back, looked up by id, and played with their audio.
using System;
using System.IO;
using System.Text;
using NUnit.Framework;
using Text2Lips.Core;

namespace Text2Lips.Tests
{
    [TestFixture]
    public class BakedLineTests
    {
        const int Rate = 16000;

        static void Str(BinaryWriter w, string s)
        {
            byte[] b = Encoding.UTF8.GetBytes(s);
            w.Write((uint)b.Length);
            w.Write(b);
        }

        /// <summary>A .t2lb as text2lips/bake.py writes it (layout in its docstring).</summary>
        static byte[] Bake(string id, int frames, int weights, int audioSamples)
        {
            var ms = new MemoryStream();
            using (var w = new BinaryWriter(ms))
            {
                w.Write(Encoding.ASCII.GetBytes("T2LB"));
                w.Write(1);
                Str(w, id); Str(w, "Hello there."); Str(w, audioSamples > 0 ? "joe" : "none"); Str(w, "test");
                w.Write(80.0); w.Write((uint)frames); w.Write(60u); w.Write((uint)weights);
                for (int k = 0; k < weights; k++) Str(w, "w" + k);
                for (int f = 0; f < frames; f++) w.Write(f / 80.0);
                for (int i = 0; i < frames * 60; i++) w.Write((float)(i % 60));
                for (int f = 0; f < frames; f++) for (int k = 0; k < weights; k++) w.Write((float)(f / (double)frames));
                w.Write(1u); Str(w, "h@"); w.Write(0.0); w.Write(frames / 80.0); w.Write(0); w.Write(1);
                w.Write(1u); Str(w, "hello"); w.Write(0.0); w.Write(frames / 80.0);
                w.Write(frames / 80.0);
                w.Write((uint)(audioSamples > 0 ? Rate : 0)); w.Write((uint)audioSamples);
                for (int i = 0; i < audioSamples; i++) w.Write(SimulatedCard.Encode(i));
                w.Write(Encoding.ASCII.GetBytes("T2LE"));
            }
            return ms.ToArray();
        }

        [Test]
        public void ReadsEveryField()
        {
            BakedLine line = BakedLine.Read(Bake("hi", 160, 3, Rate * 2));
            Assert.AreEqual("hi", line.Id);
            Assert.AreEqual(160, line.FrameCount);
            CollectionAssert.AreEqual(new[] { "w0", "w1", "w2" }, line.WeightNames);
            Assert.AreEqual(159 / 80.0, line.LastFrameSeconds, 1e-12);
            Assert.AreEqual(0.5f, line.FrameWeights(80)[2]);
            Assert.AreEqual("hello", line.Words[0].Word);
            Assert.AreEqual("h@", line.Phonemes[0].Phoneme);
            Assert.AreEqual(2.0, line.AudioSeconds, 1e-12);
        }

        [Test]
        public void RefusesDamagedBytesWithAReason()
        {
            byte[] good = Bake("hi", 10, 2, 0);
            byte[] cut = new byte[40];
            Array.Copy(good, cut, cut.Length);
            StringAssert.Contains("truncated", Assert.Throws<FormatException>(() => BakedLine.Read(cut)).Message);
            StringAssert.Contains("magic", Assert.Throws<FormatException>(() => BakedLine.Read(new byte[] { 1, 2, 3 })).Message);
            byte[] extra = new byte[good.Length + 1];
            Array.Copy(good, extra, good.Length);
            StringAssert.Contains("trailing", Assert.Throws<FormatException>(() => BakedLine.Read(extra)).Message);
            byte[] bad = (byte[])good.Clone();
            bad[0] = (byte)'X';
            StringAssert.Contains("magic", Assert.Throws<FormatException>(() => BakedLine.Read(bad)).Message);
        }

        [Test]
        public void TheLibraryFindsALineById()
        {
            var library = new BakedLibrary();
            library.Add(BakedLine.Read(Bake("guard_03", 10, 2, 0)));
            Assert.IsNotNull(library.Find("guard_03"));
            Assert.IsNull(library.Find("guard_04"));
            Assert.IsNull(library.Find(null));
        }

        [Test]
        public void AVoicedLinePlaysItsAudioOnceWithTheLipsOnTop()
        {
            // 2 s of lips (last frame at 1.9875 s) and 2 s of audio, as a voice renders them.
            BakedLine line = BakedLine.Read(Bake("hi", 160, 1, Rate * 2));
            var card = new SimulatedCard(blockSamples: 256, drift: 0);
            var settings = new LipPlaybackSettings { PrebufferSeconds = 0.1, SmoothingSeconds = 0 };
            var playback = new SpeechPlayback(1, settings, card, new AudioSettingsCore { BlockSeconds = 256.0 / Rate });
            playback.Begin(SpeechMode.Streamed);
            line.PushTo(playback);
            var output = new float[1];
            double now = 0, lipsEnd = double.NaN, worst = 0;
            PlayerEvents events = PlayerEvents.None;
            while ((events & PlayerEvents.Finished) == 0 && now < 10)
            {
                card.Run(1.0 / 60);
                now += 1.0 / 60;
                events = playback.Tick(1.0 / 60, output);
                long heard = card.AudibleSample();
                if (playback.Player.State == PlaybackState.Playing && heard >= 0 && heard < 159 * Rate / 80)
                    worst = Math.Max(worst, Math.Abs(output[0] * 2.0 - heard / (double)Rate)); // weight = t / 2 s
                if (double.IsNaN(lipsEnd) && playback.Player.State == PlaybackState.Finished) lipsEnd = now;
            }
            Assert.AreNotEqual(PlayerEvents.None, events & PlayerEvents.Finished);
            Assert.AreEqual(SpeechMode.Streamed, playback.Mode);
            Assert.AreEqual(Rate * 2, card.Heard.Count, "every sample heard once");
            Assert.LessOrEqual(worst, 1.0 / 80, "lips vs sound");
            Assert.AreEqual(line.AudioSeconds, line.LastFrameSeconds + 1.0 / 80, 1.0 / 80, "audio length agrees with the last frame");
        }
    }
}
