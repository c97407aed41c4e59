"""Model zoo (``nn.models``): classic CNNs with PyTorch/torchvision layer layouts.

Functions ``lenet5``, ``alexnet``, ``vgg11``, ``vgg16``, ``resnet18``, ``cifar_resnet`` and the
classes ``LeNet5``, ``AlexNet``, ``VGG``, ``ResNet``, ``BasicBlock``, ``InceptionBlock``; every
model takes ``num_classes=``.
"""
from .alexnet import AlexNet, alexnet
from .inception import InceptionBlock
from .lenet import LeNet5, lenet5
from .resnet import BasicBlock, ResNet, cifar_resnet, resnet18
from .vgg import VGG, vgg11, vgg16

__all__ = ["LeNet5", "lenet5", "AlexNet", "alexnet", "VGG", "vgg11", "vgg16", "ResNet", "BasicBlock",
           "resnet18", "cifar_resnet", "InceptionBlock"]
