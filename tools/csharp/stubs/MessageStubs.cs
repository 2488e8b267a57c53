// Compile-only stand-ins for the generated messages in Runtime/Generated/Lipsync.cs (which needs
// the real Google.Protobuf): only the members the glue touches, with the generated names.
#pragma warning disable 1591
using Google.Protobuf;
using Google.Protobuf.Collections;

namespace Text2Lips.V1
{
    public sealed class SpeakRequest : IMessage<SpeakRequest>
    {
        public static MessageParser<SpeakRequest> Parser { get { return null; } }
        public string Text { get; set; }
        public string UtteranceId { get; set; }
        public string Speaker { get; set; }
        public RepeatedField<float> Reference { get { return null; } }
        public float FrameRate { get; set; }
        public float TargetDurationS { get; set; }
    }
    public sealed class LipFrame : IMessage<LipFrame>
    {
        public static MessageParser<LipFrame> Parser { get { return null; } }
        public string UtteranceId { get; set; }
        public uint Index { get; set; }
        public double TimeS { get; set; }
        public RepeatedField<float> Landmarks { get { return null; } }
        public RepeatedField<float> Blendshapes { get { return null; } }
        public bool Last { get; set; }
    }
    public sealed class GetModelInfoRequest : IMessage<GetModelInfoRequest>
    {
        public static MessageParser<GetModelInfoRequest> Parser { get { return null; } }
    }
    public sealed class ModelInfo : IMessage<ModelInfo>
    {
        public static MessageParser<ModelInfo> Parser { get { return null; } }
        public string ModelName { get; set; }
        public float FrameRate { get; set; }
        public RepeatedField<string> BlendshapeNames { get { return null; } }
        public string DefaultSpeaker { get; set; }
    }
}
