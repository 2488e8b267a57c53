// Fail fast while the sidecar is down, and give each utterance a small retry budget.
using System;

namespace Text2Lips.Core
{
    /// <summary>Where a <see cref="CircuitBreaker"/> stands.</summary>
    public enum CircuitState
    {
        /// <summary>Calls go through.</summary>
        Closed,
        /// <summary>Recent calls failed: new ones fail at once until the open period ends.</summary>
        Open,
        /// <summary>The open period ended: one probe call goes through; its result closes or reopens.</summary>
        HalfOpen,
    }

    /// <summary>
    /// A circuit breaker shared by every avatar that talks to one sidecar: after
    /// <see cref="FailureThreshold"/> failures in a row it opens for <see cref="OpenSeconds"/>, during
    /// which calls fail at once (dialogue falls back to a baked clip or moves on, instead of each
    /// line waiting out its own retries); then a single probe decides. Time is passed in (seconds
    /// on any monotonic clock), so it is testable and engine-free. Not thread-safe: call it from one thread.
    /// </summary>
    public sealed class CircuitBreaker
    {
        int _failures;
        double _openedAt;
        bool _probing;

        /// <summary>Creates a closed breaker.</summary>
        /// <param name="failureThreshold">Consecutive failures that open it (≥ 1).</param>
        /// <param name="openSeconds">How long it stays open (s, &gt; 0).</param>
        public CircuitBreaker(int failureThreshold = 3, double openSeconds = 10)
        {
            if (failureThreshold < 1) throw new ArgumentOutOfRangeException("failureThreshold", failureThreshold, "must be >= 1");
            if (!(openSeconds > 0)) throw new ArgumentOutOfRangeException("openSeconds", openSeconds, "must be > 0");
            FailureThreshold = failureThreshold;
            OpenSeconds = openSeconds;
        }

        /// <summary>Consecutive failures that open the breaker.</summary>
        public int FailureThreshold { get; private set; }
        /// <summary>How long it stays open (s).</summary>
        public double OpenSeconds { get; private set; }
        /// <summary>The state after the latest call.</summary>
        public CircuitState State { get; private set; }

        /// <summary>Seconds until an open breaker lets a probe through (0 when not open).</summary>
        public double RetryInSeconds(double now)
        {
            return State == CircuitState.Open ? Math.Max(0, _openedAt + OpenSeconds - now) : 0;
        }

        /// <summary>May a call start now? Open: no, until the period ends; then one probe at a time.</summary>
        public bool Allow(double now)
        {
            if (State == CircuitState.Open && now >= _openedAt + OpenSeconds) State = CircuitState.HalfOpen;
            if (State == CircuitState.Closed) return true;
            if (State == CircuitState.HalfOpen && !_probing)
            {
                _probing = true;
                return true;
            }
            return false;
        }

        /// <summary>A call reached the server (whatever it answered).</summary>
        public void RecordSuccess()
        {
            _failures = 0;
            _probing = false;
            State = CircuitState.Closed;
        }

        /// <summary>A call that <see cref="Allow"/> let through ended without telling whether the
        /// server is reachable (cancelled by the caller): a probe slot is freed, nothing else changes.</summary>
        public void Abandon()
        {
            _probing = false;
        }

        /// <summary>A call could not reach the server (unavailable, timed out).</summary>
        public void RecordFailure(double now)
        {
            _failures++;
            bool probeFailed = State == CircuitState.HalfOpen;
            _probing = false;
            if (probeFailed || _failures >= FailureThreshold)
            {
                State = CircuitState.Open;
                _openedAt = now;
            }
        }
    }

    /// <summary>
    /// The retry allowance of one utterance: backoff delays (<see cref="ReconnectBackoff"/>) are
    /// granted only while the utterance is younger than <see cref="BudgetSeconds"/>, so a line
    /// whose server is down gives up within about that long instead of stalling the dialogue.
    /// </summary>
    public sealed class RetryBudget
    {
        readonly ReconnectBackoff _backoff;
        double _start = double.NaN;

        /// <summary>Creates a budget over a backoff policy (a fresh one per utterance).</summary>
        /// <param name="budgetSeconds">Longest time (s) from the first try to the start of the last retry.</param>
        /// <param name="backoff">Delays between tries; null: 0.1 s doubling to 1 s, with jitter.</param>
        public RetryBudget(double budgetSeconds = 2.0, ReconnectBackoff backoff = null)
        {
            if (!(budgetSeconds >= 0)) throw new ArgumentOutOfRangeException("budgetSeconds", budgetSeconds, "must be >= 0");
            BudgetSeconds = budgetSeconds;
            _backoff = backoff ?? new ReconnectBackoff(0.1, 1.0);
        }

        /// <summary>Longest time (s) from the first try to the start of the last retry.</summary>
        public double BudgetSeconds { get; private set; }

        /// <summary>Retries granted so far.</summary>
        public int Retries { get; private set; }

        /// <summary>The first try starts now.</summary>
        public void Start(double now)
        {
            _start = now;
            Retries = 0;
            _backoff.Reset();
        }

        /// <summary>A try failed at <paramref name="now"/>: the delay before the next one, or false
        /// when that retry would start after the budget.</summary>
        public bool TryNext(double now, out double delaySeconds)
        {
            if (double.IsNaN(_start)) _start = now;
            delaySeconds = _backoff.NextDelaySeconds();
            if (now + delaySeconds > _start + BudgetSeconds) return false;
            Retries++;
            return true;
        }
    }
}
