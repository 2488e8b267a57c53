"""Engine building: ONNX export (`text2lips export`), TensorRT engines (`text2lips build-engine`)
and the CUDA-graph check (`python -m engine_build.cuda_check`)."""
