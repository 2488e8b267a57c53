// Prints Text2Lips.Core.ClientMarks.WordsJson of the words given as (word, start, end) triples on
// the command line, for tests/test_unity_csharp.py to parse with the sidecar's own marks reader.
using System;
using System.Collections.Generic;
using System.Globalization;
using Text2Lips.Core;

static class MarksJson
{
    static int Main(string[] args)
    {
        var words = new List<TimedWord>();
        for (int i = 0; i + 2 < args.Length; i += 3)
            words.Add(new TimedWord
            {
                Word = args[i],
                StartSeconds = double.Parse(args[i + 1], CultureInfo.InvariantCulture),
                EndSeconds = double.Parse(args[i + 2], CultureInfo.InvariantCulture),
            });
        Console.OutputEncoding = new System.Text.UTF8Encoding(false);
        Console.Write(ClientMarks.WordsJson(words));
        return 0;
    }
}
