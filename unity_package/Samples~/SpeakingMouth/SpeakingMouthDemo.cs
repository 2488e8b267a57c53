// Sample: a mouth drawn from the 20 lip landmarks that says a line aloud; no avatar, no scene needed.
using System.Collections;
using UnityEngine;

namespace Text2Lips.Samples
{
    /// <summary>
    /// Builds everything it needs in code: a camera, two line loops (outer and inner lip), a
    /// <see cref="LipSyncAvatar"/> and its AudioSource. It asks the sidecar to say
    /// <see cref="line"/> aloud and draws the lips it streams, again every few seconds. Without a
    /// reachable sidecar it plays the bundled baked clip instead (silent lips, no network), and
    /// says so in the Console. Menu: Tools → Text2Lips → Speaking Mouth Demo.
    /// </summary>
    [AddComponentMenu("Text2Lips/Samples/Speaking Mouth Demo")]
    public sealed class SpeakingMouthDemo : MonoBehaviour
    {
        [Tooltip("What the mouth says.")]
        [SerializeField, TextArea] string line = "Welcome, traveller. The road north has been closed since the storm.";
        [Tooltip("Played when the sidecar cannot be reached (baked with text2lips bake).")]
        [SerializeField] BakedLipClip fallback;
        [Tooltip("Silence between repeats (s).")]
        [SerializeField, Min(0f)] float pauseSeconds = 1.5f;
        [Tooltip("World units per millimetre of lip.")]
        [SerializeField, Min(0.001f)] float scale = 0.06f;

        // Outer lip: points 48..59; inner lip: 60..67 (iBUG 68-point layout).
        const int Outer = 12, Inner = 8;
        LipSyncAvatar _avatar;
        LineRenderer _outer, _inner;
        readonly Vector3[] _outerPoints = new Vector3[Outer];
        readonly Vector3[] _innerPoints = new Vector3[Inner];
        bool _offline;

        /// <summary>The avatar that speaks (made in Awake).</summary>
        public LipSyncAvatar Avatar { get { return _avatar; } }

        /// <summary>The clip played without a sidecar.</summary>
        public BakedLipClip Fallback
        {
            get { return fallback; }
            set { fallback = value; }
        }

        void Awake()
        {
            if (Camera.main == null)
            {
                var cam = new GameObject("Camera").AddComponent<Camera>();
                cam.orthographic = true;
                cam.orthographicSize = 3f;
                cam.backgroundColor = new Color(0.12f, 0.12f, 0.14f);
                cam.transform.position = new Vector3(0f, 0f, -10f);
            }
            _outer = MakeLoop("Outer lip", Outer, new Color(0.85f, 0.3f, 0.35f));
            _inner = MakeLoop("Inner lip", Inner, new Color(0.55f, 0.1f, 0.15f));
            _avatar = gameObject.AddComponent<LipSyncAvatar>();
            if (fallback != null) _avatar.BakedClips.Add(fallback);
            _avatar.onError.AddListener(OnError);
        }

        LineRenderer MakeLoop(string label, int points, Color color)
        {
            var go = new GameObject(label);
            go.transform.SetParent(transform, false);
            var lr = go.AddComponent<LineRenderer>();
            lr.positionCount = points;
            lr.loop = true;
            lr.useWorldSpace = false;
            lr.widthMultiplier = 0.08f;
            lr.material = new Material(Shader.Find("Sprites/Default"));
            lr.startColor = color;
            lr.endColor = color;
            return lr;
        }

        IEnumerator Start()
        {
            while (isActiveAndEnabled)
            {
                if (_offline && fallback != null) _avatar.Speak(fallback);
                else _avatar.Speak(line);
                yield return new WaitWhile(() => _avatar.IsSpeaking);
                yield return new WaitForSeconds(pauseSeconds);
            }
        }

        void OnError(string message)
        {
            if (_offline || fallback == null)
            {
                Debug.LogWarning("Speaking Mouth: " + message, this);
                return;
            }
            _offline = true;
            Debug.LogWarning("Speaking Mouth: " + message + "\nPlaying the baked clip '" + fallback.LineId
                + "' instead (silent). Start the sidecar (make run in the text2lips repository) to hear it.", this);
            _avatar.Speak(fallback); // safe inside onError: the failed line still gets its onFinished
        }

        void LateUpdate()
        {
            if (_avatar == null || !_avatar.HasLandmarks) return;
            float[] lm = _avatar.Landmarks;
            // Centre on the lips and flip y: head space has y pointing down.
            float cx = 0f, cy = 0f;
            for (int p = 0; p < Outer + Inner; p++)
            {
                cx += lm[3 * p];
                cy += lm[3 * p + 1];
            }
            cx /= Outer + Inner;
            cy /= Outer + Inner;
            for (int p = 0; p < Outer; p++) _outerPoints[p] = Point(lm, p, cx, cy);
            for (int p = 0; p < Inner; p++) _innerPoints[p] = Point(lm, Outer + p, cx, cy);
            _outer.SetPositions(_outerPoints);
            _inner.SetPositions(_innerPoints);
        }

        Vector3 Point(float[] lm, int p, float cx, float cy)
        {
            return new Vector3((lm[3 * p] - cx) * scale, -(lm[3 * p + 1] - cy) * scale, 0f);
        }
    }
}
