// ReconnectBackoff: exponential growth, cap, jitter bounds and reset.
using System;
using System.Collections.Generic;
using NUnit.Framework;
using Text2Lips.Core;

namespace Text2Lips.Tests
{
    [TestFixture]
    public class ReconnectBackoffTests
    {
        [Test]
        public void GrowsExponentiallyUpToTheCap()
        {
            var b = new ReconnectBackoff(0.5, 10, 2, 0);
            var delays = new List<double>();
            for (int i = 0; i < 8; i++) delays.Add(b.NextDelaySeconds());
            CollectionAssert.AreEqual(new[] { 0.5, 1, 2, 4, 8, 10, 10, 10 }, delays);
            Assert.AreEqual(8, b.Attempt);
            b.Reset();
            Assert.AreEqual(0.5, b.NextDelaySeconds());
            Assert.AreEqual(10, b.Envelope(10000), "no overflow far out");
        }

        [Test]
        public void JitterStaysInsideTheEnvelopeAndVaries()
        {
            var b = new ReconnectBackoff(1, 30, 2, 0.5, new Random(42));
            var seen = new HashSet<double>();
            for (int i = 0; i < 40; i++)
            {
                double e = b.Envelope(b.Attempt);
                double d = b.NextDelaySeconds();
                Assert.LessOrEqual(d, e);
                Assert.GreaterOrEqual(d, 0.5 * e);
                seen.Add(d);
            }
            Assert.Greater(seen.Count, 30, "delays are randomised");
        }

        [Test]
        public void RejectsNonsense()
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => new ReconnectBackoff(0));
            Assert.Throws<ArgumentOutOfRangeException>(() => new ReconnectBackoff(1, 0.5));
            Assert.Throws<ArgumentOutOfRangeException>(() => new ReconnectBackoff(1, 2, 0.5));
            Assert.Throws<ArgumentOutOfRangeException>(() => new ReconnectBackoff(1, 2, 2, 1.5));
        }
    }
}
