// Sample: an NPC that says its dialogue lines one after another, waiting for each to finish.
using System.Collections;
using UnityEngine;

namespace Text2Lips.Samples
{
    /// <summary>
    /// Speaks each line of <see cref="lines"/> on a <see cref="LipSyncAvatar"/>, waits until the
    /// line has finished (or failed), pauses, and goes on to the next. Put it beside the avatar
    /// component, press Play, and watch the mouth.
    /// </summary>
    [AddComponentMenu("Text2Lips/Samples/NPC Dialog")]
    public sealed class NpcDialog : MonoBehaviour
    {
        [SerializeField] LipSyncAvatar avatar;
        [Tooltip("What the NPC says, in order.")]
        [SerializeField, TextArea] string[] lines =
        {
            "Welcome, traveller. The road north has been closed since the storm.",
            "If you need supplies, the market opens at dawn.",
            "Safe journeys!",
        };
        [Tooltip("Optional baked-clip ids, one per line: a line whose id has a clip in the avatar's Baked Clips plays it with no sidecar.")]
        [SerializeField] string[] lineIds = new string[0];
        [Tooltip("Silence between lines (s).")]
        [SerializeField, Min(0f)] float pauseSeconds = 0.6f;
        [SerializeField] bool loop = false;

        void Reset()
        {
            avatar = GetComponent<LipSyncAvatar>();
        }

        IEnumerator Start()
        {
            if (avatar == null) avatar = GetComponent<LipSyncAvatar>();
            if (avatar == null)
            {
                Debug.LogError("NpcDialog needs a LipSyncAvatar (on this object or assigned).", this);
                yield break;
            }
            avatar.onError.AddListener(message => Debug.LogWarning("NPC line failed: " + message, this));
            if (lines == null || lines.Length == 0)
            {
                // A loop over no lines never yields: it would freeze the Editor.
                Debug.LogWarning("NpcDialog has no lines to say.", this);
                yield break;
            }
            do
            {
                for (int i = 0; i < lines.Length; i++)
                {
                    string line = lines[i];
                    Debug.Log("NPC: " + line, this);
                    if (lineIds != null && i < lineIds.Length && !string.IsNullOrEmpty(lineIds[i]))
                        avatar.SpeakLine(lineIds[i], line); // the baked clip if there is one, else the sidecar
                    else avatar.Speak(line);
                    // IsSpeaking turns true inside Speak and false once onFinished has fired.
                    yield return new WaitWhile(() => avatar.IsSpeaking);
                    yield return new WaitForSeconds(pauseSeconds);
                }
                yield return null; // at least one frame per pass, whatever the lines do
            } while (loop && isActiveAndEnabled);
        }
    }
}
