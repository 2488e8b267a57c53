// The sidecar is down: lines give up within their ~2 s budget, and the breaker makes later lines fail at once.
using System;
using NUnit.Framework;
using Text2Lips.Core;

namespace Text2Lips.Tests
{
    [TestFixture]
    public class CircuitBreakerTests
    {
        [Test]
        public void ARetryBudgetEndsTheUtteranceWithinItsSeconds()
        {
            var budget = new RetryBudget(2.0, new ReconnectBackoff(0.1, 1.0, random: new Random(3)));
            double now = 100;
            budget.Start(now);
            double delay;
            const double attempt = 0.05; // each failed try takes this long before it fails
            while (true)
            {
                now += attempt;
                if (!budget.TryNext(now, out delay)) break;
                now += delay;
            }
            Assert.LessOrEqual(now - 100, 2.0 + attempt, "gave up after " + (now - 100) + " s");
            Assert.GreaterOrEqual(budget.Retries, 3, "a brief restart must still be retried");
        }

        [Test]
        public void TheBreakerOpensAfterConsecutiveFailuresAndFailsFast()
        {
            var breaker = new CircuitBreaker(failureThreshold: 3, openSeconds: 10);
            for (int i = 0; i < 3; i++)
            {
                Assert.IsTrue(breaker.Allow(i));
                breaker.RecordFailure(i);
            }
            Assert.AreEqual(CircuitState.Open, breaker.State);
            Assert.IsFalse(breaker.Allow(5), "open: fail fast");
            Assert.AreEqual(7, breaker.RetryInSeconds(5), 1e-9);
            Assert.IsTrue(breaker.Allow(12.5), "after the open period one probe goes through");
            Assert.IsFalse(breaker.Allow(12.6), "only one probe at a time");
            breaker.RecordFailure(13);
            Assert.AreEqual(CircuitState.Open, breaker.State, "a failed probe reopens at once");
            Assert.IsFalse(breaker.Allow(20));
            Assert.IsTrue(breaker.Allow(23.5));
            breaker.RecordSuccess();
            Assert.AreEqual(CircuitState.Closed, breaker.State);
            Assert.IsTrue(breaker.Allow(23.6));
        }

        [Test]
        public void AnAbandonedProbeDoesNotLockTheBreaker()
        {
            var breaker = new CircuitBreaker(failureThreshold: 1, openSeconds: 1);
            breaker.RecordFailure(0);
            Assert.IsTrue(breaker.Allow(2), "probe");
            breaker.Abandon(); // the line was stopped before the server answered
            Assert.IsTrue(breaker.Allow(2.1), "the next call may probe");
        }

        [Test]
        public void SuccessesBetweenFailuresKeepItClosed()
        {
            var breaker = new CircuitBreaker(failureThreshold: 2);
            breaker.RecordFailure(0);
            breaker.RecordSuccess();
            breaker.RecordFailure(1);
            Assert.AreEqual(CircuitState.Closed, breaker.State);
        }
    }
}
