// When to try the sidecar again after a failed connection.
using System;

namespace Text2Lips.Core
{
    /// <summary>
    /// Capped exponential backoff with jitter: the n-th retry (n = 0, 1, ...) waits a random
    /// time in [(1 - Jitter)·E, E] with E = min(MaxSeconds, InitialSeconds·Multiplier^n).
    /// The jitter keeps many avatars that lost the same sidecar from reconnecting in lockstep.
    /// Call <see cref="Reset"/> after a success.
    /// </summary>
    public sealed class ReconnectBackoff
    {
        readonly Random _random;

        /// <summary>Creates a policy.</summary>
        /// <param name="initialSeconds">Envelope of the first retry (s, &gt; 0).</param>
        /// <param name="maxSeconds">Cap of the envelope (s, ≥ initialSeconds).</param>
        /// <param name="multiplier">Growth per retry (≥ 1).</param>
        /// <param name="jitter">Fraction of the envelope that is random (0..1).</param>
        /// <param name="random">Source of randomness; pass a seeded one for reproducible delays.</param>
        public ReconnectBackoff(double initialSeconds = 0.5, double maxSeconds = 30, double multiplier = 2,
            double jitter = 0.5, Random random = null)
        {
            if (!(initialSeconds > 0)) throw new ArgumentOutOfRangeException("initialSeconds", initialSeconds, "must be > 0");
            if (!(maxSeconds >= initialSeconds)) throw new ArgumentOutOfRangeException("maxSeconds", maxSeconds, "must be >= initialSeconds");
            if (!(multiplier >= 1)) throw new ArgumentOutOfRangeException("multiplier", multiplier, "must be >= 1");
            if (!(jitter >= 0 && jitter <= 1)) throw new ArgumentOutOfRangeException("jitter", jitter, "must be in [0, 1]");
            InitialSeconds = initialSeconds;
            MaxSeconds = maxSeconds;
            Multiplier = multiplier;
            Jitter = jitter;
            _random = random ?? new Random();
        }

        /// <summary>Envelope of the first retry (s).</summary>
        public double InitialSeconds { get; private set; }
        /// <summary>Cap of the envelope (s).</summary>
        public double MaxSeconds { get; private set; }
        /// <summary>Growth of the envelope per retry.</summary>
        public double Multiplier { get; private set; }
        /// <summary>Fraction of the envelope that is random.</summary>
        public double Jitter { get; private set; }
        /// <summary>Retries handed out since the last <see cref="Reset"/>.</summary>
        public int Attempt { get; private set; }

        /// <summary>The envelope E of retry <paramref name="attempt"/> (s).</summary>
        public double Envelope(int attempt)
        {
            // Math.Pow overflows to infinity rather than wrapping, and Min caps it.
            return Math.Min(MaxSeconds, InitialSeconds * Math.Pow(Multiplier, Math.Max(0, attempt)));
        }

        /// <summary>The delay before the next retry (s), and counts the retry.</summary>
        public double NextDelaySeconds()
        {
            double e = Envelope(Attempt);
            Attempt++;
            return e * (1.0 - Jitter * _random.NextDouble());
        }

        /// <summary>A connection succeeded: the next failure starts from <see cref="InitialSeconds"/> again.</summary>
        public void Reset()
        {
            Attempt = 0;
        }
    }
}
