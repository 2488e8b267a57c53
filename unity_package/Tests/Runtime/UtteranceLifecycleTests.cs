// One onFinished per Speak, even when an onFinished listener calls Speak while Speak interrupts a line.
using System.Collections.Generic;
using NUnit.Framework;
using Text2Lips.Core;

namespace Text2Lips.Tests
{
    [TestFixture]
    public class UtteranceLifecycleTests
    {
        /// <summary>LipSyncAvatar's use of the lifecycle, without Unity: Speak opens a "stream"
        /// per utterance; the stream is closed when its utterance ends.</summary>
        sealed class Avatar
        {
            public readonly UtteranceLifecycle Life = new UtteranceLifecycle();
            public readonly List<int> Finished = new List<int>();
            public readonly Dictionary<int, string> Text = new Dictionary<int, string>();
            public readonly HashSet<int> OpenStreams = new HashSet<int>();

            public Avatar()
            {
                Life.Finished += id => Finished.Add(id);
            }

            public void Speak(string text)
            {
                int id = Life.Begin();
                Text[id] = text;
                if (!Life.IsCurrent(id)) return; // a listener already replaced it
                OpenStreams.Add(id);
                Life.Attach(id, () => OpenStreams.Remove(id));
            }

            /// <summary>The current line plays to its end.</summary>
            public void PlayOut()
            {
                Life.Finish(Life.Current);
            }
        }

        [Test]
        public void ThreeSpeaksWithAReenteringListenerGiveThreeFinished()
        {
            var avatar = new Avatar();
            bool reentered = false;
            avatar.Life.Finished += id =>
            {
                if (reentered) return;
                reentered = true;
                avatar.Speak("C"); // e.g. a dialogue UI that queues the next line on onFinished
            };
            avatar.Speak("A");
            avatar.Speak("B"); // interrupts A; A's listener speaks C
            avatar.PlayOut();
            var said = avatar.Finished.ConvertAll(id => avatar.Text[id]);
            Assert.AreEqual(3, said.Count, "finished: " + string.Join(",", said.ToArray()));
            CollectionAssert.AreEquivalent(new[] { "A", "B", "C" }, said);
            Assert.AreEqual("C", avatar.Text[avatar.Life.Current], "the last Speak wins");
            Assert.IsFalse(avatar.Life.IsActive);
            Assert.IsEmpty(avatar.OpenStreams, "a replaced utterance's stream leaked");
        }

        [Test]
        public void EveryUtteranceFinishesOnceAndStaleReportsAreIgnored()
        {
            var life = new UtteranceLifecycle();
            var finished = new List<int>();
            life.Finished += finished.Add;
            int a = life.Begin();
            int b = life.Begin();
            Assert.IsFalse(life.Finish(a), "a replaced utterance's late end is ignored");
            Assert.IsTrue(life.IsCurrent(b));
            life.Stop();
            life.Stop();
            Assert.IsFalse(life.Finish(b));
            CollectionAssert.AreEqual(new[] { a, b }, finished);
            bool cleaned = false;
            life.Attach(a, () => cleaned = true);
            Assert.IsTrue(cleaned, "a clean-up for an ended utterance runs at once");
        }

        [Test]
        public void AListenerThatSpeaksOnEveryFinishCannotRecurseForever()
        {
            var life = new UtteranceLifecycle();
            int finished = 0;
            life.Finished += id => { finished++; if (finished < 1000) life.Begin(); };
            life.Begin();
            life.Begin();
            // Events are queued, not nested: 1000 re-entrant Speaks need no deep stack.
            Assert.AreEqual(1000, finished);
            Assert.IsTrue(life.IsActive);
        }
    }
}
