# Port of "PyTorch: Custom nn Modules" from PyTorch's tutorial "Learning PyTorch with Examples"
# (pytorch/tutorials, beginner_source/examples_nn/polynomial_module.py; BSD-3-Clause,
# Copyright (c) PyTorch contributors). Changed: imports only (`import engine as torch` plus
# `import nn, optim`); docstrings shortened.
import engine as torch
import nn  # noqa: F401  (torch.nn)
import optim  # noqa: F401  (torch.optim)
import math


class Polynomial3(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        return self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3

    def string(self):
        return f'y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + {self.d.item()} x^3'


x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

model = Polynomial3()

criterion = torch.nn.MSELoss(reduction='sum')
optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
for t in range(2000):
    y_pred = model(x)

    loss = criterion(y_pred, y)
    if t % 100 == 99:
        print(t, loss.item())

    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

print(f'Result: {model.string()}')
