"""Model definitions shared by the tests and the benchmarks (bench/lenet.py imports this file by path).

Each factory takes the library, fastnn or torch, and builds the same network from its `nn` and
`nn.functional`, so a test can build one of each and copy torch's initial weights into fastnn's.
(The scripts in tests/python/programs and examples/ define their models themselves, as users do.)
"""


def lenet(lib):
    """The PyTorch tutorial's LeNet (its class is named Net there): conv 1->6 5x5, max pool 2, conv 6->16 5x5,
    max pool 2, flatten, 400 -> 120 -> 84 -> 10 with ReLUs; input (N, 1, 32, 32)."""
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = lib.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    return Net()


def convnet(lib):
    """Padding, stride, dilation, groups, a 1x1 convolution, both poolings, no-bias layers; input (N, 3, H, W)."""
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 12, 3, stride=2, padding=2, dilation=2, groups=4),
        nn.ReLU(),
        nn.MaxPool2d(3, stride=2, padding=1),
        nn.Conv2d(12, 16, 1, bias=False),
        nn.ReLU(),
        nn.Conv2d(16, 16, (3, 2), stride=(1, 2), padding=(1, 0), groups=2),
        nn.ReLU(),
        nn.AvgPool2d(2, ceil_mode=True),
        nn.Flatten(),
        nn.Linear(16 * 2 * 1, 20),
        nn.ReLU(),
        nn.Linear(20, 5, bias=False),
    )


def resnet18_cifar(lib, classes=10):
    """ResNet-18 for 32x32 inputs (the CIFAR variant: a 3x3 stem, no max pool): four stages of two basic blocks
    (64, 128, 256, 512 channels; stride 2 and a 1x1 projection where the shape changes), BatchNorm, global
    average pool, linear; input (N, 3, 32, 32)."""
    nn, F = lib.nn, lib.nn.functional

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))

    layers = [nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU()]
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes)]
    return nn.Sequential(*layers)


def vgg_block(lib):
    """VGG's first block: conv 3->64 3x3 pad 1, ReLU, conv 64->64 3x3 pad 1, ReLU, max pool 2; input (N, 3, 224, 224)."""
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)
    )
