// One call to the sidecar under the retry budget and the shared circuit breaker.
using System;
using System.Threading;
using System.Threading.Tasks;

namespace Text2Lips.Core
{
    /// <summary>How one try of a call ended.</summary>
    public enum AttemptOutcome
    {
        /// <summary>The server answered and the call ran to its end.</summary>
        Done,
        /// <summary>The server answered with a refusal (bad request, token...): retrying cannot help.</summary>
        Refused,
        /// <summary>The server could not be reached, or sent nothing in time, before the first frame: worth a retry.</summary>
        Unreachable,
    }

    /// <summary>What became of a call.</summary>
    public struct CallReport
    {
        /// <summary>The last try's outcome (<see cref="AttemptOutcome.Unreachable"/> when it gave up).</summary>
        public AttemptOutcome Outcome;
        /// <summary>Tries made (0 when the breaker refused at once).</summary>
        public int Tries;
        /// <summary>True when the open breaker refused the call without trying.</summary>
        public bool FailedFast;
        /// <summary>Seconds until the breaker lets a probe through (when <see cref="FailedFast"/>).</summary>
        public double RetryInSeconds;
    }

    /// <summary>
    /// Runs a call's tries: the call needs the shared <see cref="CircuitBreaker"/>'s permission
    /// (an open breaker fails it at once), an unreachable try is retried after a backoff delay
    /// while the call's <see cref="RetryBudget"/> lasts, and the breaker learns how the call went:
    /// a failure when it gave up, a success as soon as a try reports that the server answered
    /// (so a long stream does not hold a half-open breaker's probe slot). Time and delays are injected, so the policy is tested
    /// without a network or a wall clock. Thread-safe: the breaker is used under a lock.
    /// </summary>
    public sealed class RetryingCaller
    {
        readonly CircuitBreaker _breaker;
        readonly Func<double> _now;
        readonly Func<double, CancellationToken, Task> _delay;
        readonly object _gate = new object();

        /// <summary>Creates a caller around a breaker shared by every call to one server.</summary>
        /// <param name="breaker">The server's breaker.</param>
        /// <param name="now">Monotonic time in seconds.</param>
        /// <param name="delay">Waits the given seconds (Task.Delay in a game).</param>
        public RetryingCaller(CircuitBreaker breaker, Func<double> now, Func<double, CancellationToken, Task> delay)
        {
            if (breaker == null) throw new ArgumentNullException("breaker");
            if (now == null) throw new ArgumentNullException("now");
            if (delay == null) throw new ArgumentNullException("delay");
            _breaker = breaker;
            _now = now;
            _delay = delay;
        }

        /// <summary>The breaker's state now.</summary>
        public CircuitState State { get { lock (_gate) return _breaker.State; } }

        /// <summary>Runs <paramref name="attempt"/> until it is done, refused, or the budget or
        /// the breaker stops it. The attempt gets a "reached" callback to call once the server
        /// has answered. Cancellation propagates as <see cref="OperationCanceledException"/>.</summary>
        public async Task<CallReport> RunAsync(RetryBudget budget, Func<Action, CancellationToken, Task<AttemptOutcome>> attempt, CancellationToken ct)
        {
            if (budget == null) throw new ArgumentNullException("budget");
            if (attempt == null) throw new ArgumentNullException("attempt");
            ct.ThrowIfCancellationRequested();
            var report = new CallReport();
            lock (_gate)
            {
                if (!_breaker.Allow(_now()))
                {
                    report.FailedFast = true;
                    report.Outcome = AttemptOutcome.Unreachable;
                    report.RetryInSeconds = _breaker.RetryInSeconds(_now());
                    return report;
                }
            }
            budget.Start(_now());
            bool settled = false;
            Action reached = () =>
            {
                lock (_gate)
                {
                    if (settled) return;
                    settled = true;
                    _breaker.RecordSuccess();
                }
            };
            try
            {
                while (true)
                {
                    report.Tries++;
                    report.Outcome = await attempt(reached, ct).ConfigureAwait(false);
                    if (report.Outcome != AttemptOutcome.Unreachable)
                    {
                        reached();
                        return report;
                    }
                    double delay;
                    if (!budget.TryNext(_now(), out delay))
                    {
                        // The breaker counts calls that gave up, not tries: one line that
                        // could not reach the server in its budget is evidence enough.
                        lock (_gate)
                        {
                            if (!settled) _breaker.RecordFailure(_now());
                            settled = true;
                        }
                        return report;
                    }
                    await _delay(delay, ct).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                lock (_gate) if (!settled) _breaker.Abandon();
                throw;
            }
        }
    }
}
