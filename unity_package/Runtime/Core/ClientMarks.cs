// A game's own word timing, written in the sidecar's "words" marks format.
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Text2Lips.Core
{
    /// <summary>
    /// Word timing from a game's own TTS or voice-over, as the sidecar's SpeakVoiced reads it
    /// (<c>ClientMarks { format: "words" }</c>): a JSON list of <c>{"word", "start", "end"}</c> in
    /// seconds from the start of the clip. Written here so the C# side needs no JSON library.
    /// </summary>
    public static class ClientMarks
    {
        /// <summary>The marks format name this class writes.</summary>
        public const string WordsFormat = "words";

        /// <summary>The words as a JSON list; times in seconds, written round-trip exact.</summary>
        public static string WordsJson(IList<TimedWord> words)
        {
            var json = new StringBuilder("[");
            for (int i = 0; i < words.Count; i++)
            {
                if (i > 0) json.Append(',');
                json.Append("{\"word\":\"");
                Escape(json, words[i].Word ?? "");
                json.Append("\",\"start\":").Append(words[i].StartSeconds.ToString("R", CultureInfo.InvariantCulture))
                    .Append(",\"end\":").Append(words[i].EndSeconds.ToString("R", CultureInfo.InvariantCulture))
                    .Append('}');
            }
            return json.Append(']').ToString();
        }

        static void Escape(StringBuilder json, string s)
        {
            foreach (char c in s)
            {
                if (c == '"' || c == '\\') json.Append('\\').Append(c);
                else if (c < ' ') json.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                else json.Append(c);
            }
        }
    }
}
