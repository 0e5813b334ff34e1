"""mlp_lab: backpropagation and gradient descent on two-class CIFAR-10, regenerated."""

__version__ = "0.1.0"
