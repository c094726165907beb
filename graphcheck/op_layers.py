"""How the Keras loader records op layers in the graph, for the op shape functions to read.

A call on a TF function or a Keras 3 operation becomes a layer whose type and call_options
follow these conventions; the loader writes them and ``shapes/keras/ops*.py`` reads them, so
they live below both.
"""

from __future__ import annotations

# A Keras 3 operation's layer type is its class name with this prefix: "Add" and "Reshape" are
# also layers' names.
KERAS3_OP_PREFIX = "keras.ops."
# Keras 3 op classes (keras.src.ops.*) that shapes/keras/ops*.py compute, by class name.
KERAS3_OP_CLASSES = (
    "Add", "Subtract", "Multiply", "Divide", "TrueDivide", "FloorDivide", "Power", "Maximum",
    "Minimum", "Mod", "Equal", "NotEqual", "Greater", "GreaterEqual", "Less", "LessEqual",
    "LogicalAnd", "LogicalOr", "LogicalXor", "Where", "Relu", "Relu6", "Sigmoid", "Tanh", "Exp",
    "Log", "Sqrt", "Rsqrt", "Abs", "Absolute", "Negative", "Square", "Cast", "Softmax",
    "LogSoftmax", "Gelu", "Silu", "HardSigmoid", "HardSilu", "Elu", "Selu", "Softplus", "Softsign",
    "LeakyRelu", "Erf", "Sin", "Cos", "Floor", "Ceil", "Round", "Sign", "LogicalNot", "Clip",
    "Reciprocal", "StopGradient", "Log1p", "Expm1", "ConvertToTensor", "NanToNum", "Isnan",
    "Isfinite", "ZerosLike", "OnesLike", "Real", "Imag", "Conj", "LogSigmoid", "Celu", "Mish",
    "HardTanh", "Mean", "Sum", "Max", "Min", "Prod", "Std", "Var", "Any", "All", "Logsumexp",
    "Amax", "Amin", "GetItem", "Reshape", "Transpose", "Concatenate", "Matmul", "ExpandDims",
    "Squeeze", "Stack", "Argmax", "Argmin", "OneHot", "Tile", "Pad", "Resize", "Einsum",
)
# Key of Layer.call_options holding an op layer's positional arguments, tensors as TENSOR_MARK.
ARGS_KEY = "__args__"
TENSOR_MARK = "__tensor__"
# Key of an op layer's call_options holding its keywords that contain tensors, tensors marked.
DYNAMIC_KEY = "__dynamic__"
