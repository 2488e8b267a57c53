// Small numeric helpers shared by the playback classes: interpolation and smoothing.
using System;

namespace Text2Lips.Core
{
    /// <summary>Interpolation and frame-rate independent exponential smoothing of weight arrays.</summary>
    public static class LipMath
    {
        /// <summary>output[i] = a[i] + (b[i] - a[i]) * t for the first <paramref name="count"/> weights.</summary>
        public static void Lerp(float[] a, float[] b, float t, float[] output, int count)
        {
            for (int i = 0; i < count; i++) output[i] = a[i] + (b[i] - a[i]) * t;
        }

        /// <summary>
        /// Fraction of the remaining distance to cover in <paramref name="dt"/> seconds for an
        /// exponential approach with time constant <paramref name="timeConstant"/>:
        /// 1 - exp(-dt / tau). Two steps of dt give the same result as one of 2·dt, so the
        /// smoothing looks the same at any render rate. tau ≤ 0 means no smoothing (1).
        /// </summary>
        public static float SmoothingAlpha(double dt, double timeConstant)
        {
            if (timeConstant <= 0) return 1f;
            if (dt <= 0) return 0f;
            return (float)(1.0 - Math.Exp(-dt / timeConstant));
        }

        /// <summary>Moves <paramref name="state"/> towards <paramref name="target"/> by <paramref name="alpha"/>, in place.</summary>
        public static void Approach(float[] state, float[] target, float alpha, int count)
        {
            for (int i = 0; i < count; i++) state[i] += (target[i] - state[i]) * alpha;
        }

        /// <summary>Clamps v to [lo, hi].</summary>
        public static float Clamp(float v, float lo, float hi)
        {
            return v < lo ? lo : (v > hi ? hi : v);
        }
    }
}
