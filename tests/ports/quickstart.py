# Port of PyTorch's "Quickstart" tutorial (pytorch/tutorials, beginner_source/basics/
# quickstart_tutorial.py, the version with `device = "cuda" if torch.cuda.is_available() else
# "cpu"`; BSD-3-Clause, Copyright (c) PyTorch contributors). Changed: the imports (`import engine
# as torch`, `import nn` for `from torch import nn`, `import optim` so that torch.optim resolves,
# `from engine.utils.data import DataLoader`; matplotlib, imported but unused, dropped) and the data
# source: torchvision's FashionMNIST is replaced by `synthetic_fashion_mnist` (28x28 images in
# [0, 1] whose class is a brighter 7x7 block at a class-dependent place). Tutorial prose removed.
import engine as torch
import nn
import optim  # noqa: F401  (torch.optim)
from engine.utils.data import DataLoader, TensorDataset


def synthetic_fashion_mnist(train, n=(320, 128)):  # stands in for datasets.FashionMNIST(...)
    import numpy as np
    rng = np.random.default_rng(0 if train else 1)
    size = n[0] if train else n[1]
    labels = rng.integers(0, 10, size)
    images = rng.uniform(0.0, 0.5, (size, 1, 28, 28)).astype(np.float32)
    for i, k in enumerate(labels):
        r, c = 7 * (k // 4), 7 * (k % 4)
        images[i, 0, r:r + 7, c:c + 7] += 0.5
    return TensorDataset(torch.tensor(images), torch.tensor(labels))


training_data = synthetic_fashion_mnist(train=True)
test_data = synthetic_fashion_mnist(train=False)

batch_size = 64

train_dataloader = DataLoader(training_data, batch_size=batch_size)
test_dataloader = DataLoader(test_data, batch_size=batch_size)

for X, y in test_dataloader:
    print("Shape of X [N, C, H, W]: ", X.shape)
    print("Shape of y: ", y.shape, y.dtype)
    break

device = "cuda" if torch.cuda.is_available() else "cpu"
print("Using {} device".format(device))

class NeuralNetwork(nn.Module):
    def __init__(self):
        super(NeuralNetwork, self).__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28*28, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, 10),
            nn.ReLU()
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits

model = NeuralNetwork().to(device)
print(model)

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)


def train(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)

        pred = model(X)
        loss = loss_fn(pred, y)

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        if batch % 100 == 0:
            loss, current = loss.item(), batch * len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def test(dataloader, model, loss_fn):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")


epochs = 5
for t in range(epochs):
    print(f"Epoch {t+1}\n-------------------------------")
    train(train_dataloader, model, loss_fn, optimizer)
    test(test_dataloader, model, loss_fn)
print("Done!")

torch.save(model.state_dict(), "model.pth")
print("Saved PyTorch Model State to model.pth")

model = NeuralNetwork()
model.load_state_dict(torch.load("model.pth"))

classes = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]

model.eval()
x, y = test_data[0][0], test_data[0][1]
with torch.no_grad():
    pred = model(x)
    predicted, actual = classes[pred[0].argmax(0)], classes[y]
    print(f'Predicted: "{predicted}", Actual: "{actual}"')
