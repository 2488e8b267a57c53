"""The gRPC sidecar: serves text2lips.runtime over the text2lips.v1.LipSync contract
(`text2lips serve`); see docs/sidecar.md."""
