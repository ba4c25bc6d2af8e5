"""The Piper (VITS, ONNX) engine and its voices."""
