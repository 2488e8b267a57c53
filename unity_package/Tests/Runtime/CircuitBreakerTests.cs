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

namespace Text2Lips.Tests
{
    using System.Collections.Generic;
    using System.Threading;
    using System.Threading.Tasks;

    /// <summary>The review's stalled dialogue, on virtual time: the sidecar is down and an NPC says five lines.</summary>
    [TestFixture]
    public class RetryingCallerTests
    {
        double _now;

        RetryingCaller Caller(CircuitBreaker breaker)
        {
            return new RetryingCaller(breaker, () => _now, (seconds, ct) => { _now += seconds; return Task.FromResult(0); });
        }

        /// <summary>A try against a sidecar that is down: the connection is refused after 20 ms.</summary>
        Task<AttemptOutcome> Down(Action reached, CancellationToken ct)
        {
            _now += 0.02;
            return Task.FromResult(AttemptOutcome.Unreachable);
        }

        [Test]
        public void WithTheSidecarDownTheFirstLineGivesUpInItsBudgetAndTheRestFailAtOnce()
        {
            var caller = Caller(new CircuitBreaker(failureThreshold: 1, openSeconds: 5));
            var waited = new List<double>();
            var reports = new List<CallReport>();
            for (int line = 0; line < 5; line++)
            {
                double start = _now;
                CallReport report = caller.RunAsync(new RetryBudget(2.0, new ReconnectBackoff(0.1, 1.0, random: new Random(line))), Down, CancellationToken.None).Result;
                waited.Add(_now - start);
                reports.Add(report);
                _now += 3; // the line's failure is shown, then the dialogue moves on
            }
            Console.WriteLine("seconds per line with the sidecar down: " + string.Join(", ", waited.ConvertAll(w => w.ToString("F2")).ToArray()));
            // Line 1 retries for its budget (a sidecar restart is ridden out), then gives up.
            Assert.LessOrEqual(waited[0], 2.0 + 0.02, "line 1 must give up within its budget");
            Assert.GreaterOrEqual(waited[0], 1.0, "line 1 must use its budget");
            Assert.AreEqual(AttemptOutcome.Unreachable, reports[0].Outcome);
            Assert.GreaterOrEqual(reports[0].Tries, 4);
            // Line 2 starts 3 s later, inside the 5 s open period: it fails without trying.
            Assert.IsTrue(reports[1].FailedFast);
            Assert.AreEqual(0, waited[1], 1e-9);
            // Line 3 probes (half-open) with its own budget, fails, and reopens the breaker.
            Assert.IsFalse(reports[2].FailedFast);
            Assert.LessOrEqual(waited[2], 2.0 + 0.02);
            Assert.IsTrue(reports[3].FailedFast);
            Assert.AreEqual(0, waited[3], 1e-9);
            // The review's stall was 8-15 s for line 1 and 20-40 s for later lines.
            double total = 0;
            foreach (double w in waited) total += w;
            Assert.LessOrEqual(total, 3 * (2.0 + 0.02));
        }

        [Test]
        public void ABriefRestartIsRiddenOutAndClosesTheBreaker()
        {
            var breaker = new CircuitBreaker(failureThreshold: 5, openSeconds: 10);
            var caller = Caller(breaker);
            double upAt = 0.5;
            bool reachedCalled = false;
            CallReport report = caller.RunAsync(new RetryBudget(2.0, new ReconnectBackoff(0.1, 1.0, random: new Random(1))), (reached, ct) =>
            {
                _now += 0.02;
                if (_now < upAt) return Task.FromResult(AttemptOutcome.Unreachable);
                reached();
                reachedCalled = true;
                return Task.FromResult(AttemptOutcome.Done);
            }, CancellationToken.None).Result;
            Assert.IsTrue(reachedCalled);
            Assert.AreEqual(AttemptOutcome.Done, report.Outcome);
            Assert.Greater(report.Tries, 1);
            Assert.AreEqual(CircuitState.Closed, breaker.State);
        }

        [Test]
        public void ARefusalIsNotRetried()
        {
            var caller = Caller(new CircuitBreaker());
            int tries = 0;
            CallReport report = caller.RunAsync(new RetryBudget(2.0), (reached, ct) => { tries++; return Task.FromResult(AttemptOutcome.Refused); }, CancellationToken.None).Result;
            Assert.AreEqual(1, tries);
            Assert.AreEqual(AttemptOutcome.Refused, report.Outcome);
            Assert.AreEqual(CircuitState.Closed, caller.State, "a refusal means the server is up");
        }
    }
}
