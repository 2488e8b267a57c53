// Blend-shape name matching, presets and the weight mapping applied to meshes.
using System.Collections.Generic;
using NUnit.Framework;
using Text2Lips.Core;

namespace Text2Lips.Tests
{
    [TestFixture]
    public class BlendShapeTests
    {
        [Test]
        public void NamesSplitIntoWords()
        {
            CollectionAssert.AreEqual(new[] { "mouth", "smile", "left" }, BlendShapeNames.Words("mouthSmile_L"));
            CollectionAssert.AreEqual(new[] { "mouth", "smile", "left" }, BlendShapeNames.Words("MouthSmileLeft"));
            CollectionAssert.AreEqual(new[] { "ar", "kit", "jaw", "open" }, BlendShapeNames.Words("ARKitJawOpen"));
            CollectionAssert.AreEqual(new[] { "blend", "shape1", "jaw", "open" }, BlendShapeNames.Words("blendShape1.jawOpen"));
            CollectionAssert.AreEqual(new[] { "viseme", "pp" }, BlendShapeNames.Words("viseme_PP"));
            CollectionAssert.AreEqual(new[] { "fcl", "mth", "a" }, BlendShapeNames.Words("Fcl_MTH_A"));
            CollectionAssert.IsEmpty(BlendShapeNames.Words(""));
        }

        [TestCase("jawOpen", "jawOpen", NameMatch.Exact)]
        [TestCase("Jaw_Open", "jawOpen", NameMatch.Exact)]
        [TestCase("JAWOPEN", "jawOpen", NameMatch.Exact)]
        [TestCase("jawopen", "jawOpen", NameMatch.Exact)]
        [TestCase("mouthSmile_L", "mouthSmileLeft", NameMatch.Exact)]
        [TestCase("blendShape1.jawOpen", "jawOpen", NameMatch.Suffix)]
        [TestCase("Head_Mesh.viseme_aa", "viseme_aa", NameMatch.Suffix)]
        [TestCase("vrc.v_aa", "v_aa", NameMatch.Suffix)]
        [TestCase("Fcl_MTH_A", "A", NameMatch.Suffix)]
        [TestCase("mouthSmileLeft", "mouthLeft", NameMatch.None)]
        [TestCase("mouthLeft", "mouthSmileLeft", NameMatch.None)]
        [TestCase("jawOpenWide", "jawOpen", NameMatch.None)]
        [TestCase("xjawOpen", "jawOpen", NameMatch.None)]
        [TestCase("viseme_aa", "viseme_E", NameMatch.None)]
        public void MatchesIgnoringCaseSeparatorsAndPrefixes(string mesh, string wanted, NameMatch expected)
        {
            Assert.AreEqual(expected, BlendShapeNames.Match(mesh, wanted));
        }

        [Test]
        public void ExactBeatsSuffixAndTheFirstMatchingAliasWins()
        {
            var mesh = new List<string> { "Head.jawOpen", "jawOpen", "Fcl_EYE_A", "Fcl_MTH_A" };
            Assert.AreEqual(1, BlendShapeNames.FindBest(mesh, new[] { "jawOpen" }));
            Assert.AreEqual(3, BlendShapeNames.FindBest(mesh, new[] { "Fcl_MTH_A", "A" }));
            Assert.AreEqual(-1, BlendShapeNames.FindBest(mesh, new[] { "mouthClose" }));
        }

        static Dictionary<string, string> Bound(IList<string> mesh, MouthRigPreset preset)
        {
            var d = new Dictionary<string, string>();
            foreach (BlendShapeBinding b in BlendShapeNames.AutoMatch(mesh, MouthRigPresets.Get(preset)))
            {
                Assert.AreEqual(100f, b.Scale);
                d.Add(b.Source, b.Target);
            }
            return d;
        }

        [Test]
        public void AutoMatchesAnARKitMesh()
        {
            var mesh = new List<string> { "eyeBlink_L", "blendShape1.jawOpen", "mouthSmile_L", "MouthSmileRight", "mouthLeft", "mouthSmileLeft_old2" };
            Dictionary<string, string> d = Bound(mesh, MouthRigPreset.ARKit);
            Assert.AreEqual("blendShape1.jawOpen", d["jawOpen"]);
            Assert.AreEqual("mouthSmile_L", d["mouthSmileLeft"]);
            Assert.AreEqual("MouthSmileRight", d["mouthSmileRight"]);
            Assert.AreEqual("mouthLeft", d["mouthLeft"]);
            Assert.AreEqual(4, d.Count);
            Assert.AreEqual(18, MouthRigPresets.Get(MouthRigPreset.ARKit).Count);
        }

        [Test]
        public void AutoMatchesReadyPlayerMeAndVRChatVisemes()
        {
            var rpm = new List<string>();
            foreach (string v in MouthRigPresets.Visemes) rpm.Add("viseme_" + v);
            rpm.Add("mouthSmile");
            Dictionary<string, string> d = Bound(rpm, MouthRigPreset.ReadyPlayerMe);
            Assert.AreEqual(15, d.Count);
            Assert.AreEqual("viseme_PP", d["viseme_PP"]);
            Assert.AreEqual("viseme_E", d["viseme_E"]);

            var vrc = new List<string> { "vrc.v_sil", "vrc.v_aa", "vrc.v_e", "vrc.v_oh", "Blink" };
            d = Bound(vrc, MouthRigPreset.ReadyPlayerMe);
            Assert.AreEqual("vrc.v_aa", d["viseme_aa"]);
            Assert.AreEqual("vrc.v_e", d["viseme_E"]);
            Assert.AreEqual(4, d.Count);
        }

        [Test]
        public void AutoMatchesVRoidVowels()
        {
            var mesh = new List<string> { "Fcl_ALL_Neutral", "Fcl_EYE_Close", "Fcl_MTH_A", "Fcl_MTH_I", "Fcl_MTH_U", "Fcl_MTH_E", "Fcl_MTH_O" };
            Dictionary<string, string> d = Bound(mesh, MouthRigPreset.VRM);
            Assert.AreEqual("Fcl_MTH_A", d["viseme_aa"]);
            Assert.AreEqual("Fcl_MTH_I", d["viseme_ih"]);
            Assert.AreEqual("Fcl_MTH_U", d["viseme_ou"]);
            Assert.AreEqual("Fcl_MTH_E", d["viseme_E"]);
            Assert.AreEqual("Fcl_MTH_O", d["viseme_oh"]);
            d = Bound(new List<string> { "aa", "ih", "ou", "ee", "oh" }, MouthRigPreset.VRM);
            Assert.AreEqual("ee", d["viseme_E"]);
        }

        [Test]
        public void MappingScalesAddsAndClamps()
        {
            var sources = new[] { "jawOpen", "viseme_aa", "mouthClose" };
            var meshIndex = new Dictionary<string, int> { { "A", 7 }, { "Jaw", 2 } };
            var bindings = new List<BlendShapeBinding>
            {
                new BlendShapeBinding("viseme_aa", "A", 100f),
                new BlendShapeBinding("JawOpen", "A", 50f), // found by words, adds to A
                new BlendShapeBinding("jawOpen", "Jaw", 80f),
                new BlendShapeBinding("mouthClose", "Missing", 100f),
                new BlendShapeBinding("notSent", "Jaw", 100f),
            };
            BlendShapeMapping m = BlendShapeMapping.Build(sources, bindings, n => meshIndex.ContainsKey(n) ? meshIndex[n] : -1);
            CollectionAssert.AreEqual(new[] { 7, 2 }, m.TargetIndices);
            Assert.AreEqual(2, m.UnmatchedBindings.Length);
            var o = new float[2];
            m.Apply(new[] { 0.4f, 0.2f, 1f }, o);
            Assert.AreEqual(20f + 20f, o[0], 1e-4);
            Assert.AreEqual(32f, o[1], 1e-4);
            m.Apply(new[] { 1f, 0.9f, 0f }, o);
            Assert.AreEqual(100f, o[0], "clamped to Unity's full weight");
            m.Apply(new[] { -0.5f, 0f, 0f }, o);
            Assert.AreEqual(0f, o[1], "never negative");
        }
    }
}
