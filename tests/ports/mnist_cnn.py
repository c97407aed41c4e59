# Port of the MNIST example of pytorch/examples (mnist/main.py; BSD-3-Clause, Copyright (c)
# PyTorch contributors). Changed: the imports (`import engine as torch`, `import nn`,
# `from nn import functional as F`, `import optim`, `from optim.lr_scheduler import StepLR`) and
# the data source: torchvision's MNIST + DataLoader are replaced by `synthetic_loader` (28x28
# images whose class is written as a bright 4x4 patch at a class-dependent place, plus noise), and
# argparse by `Args`: the program's lr, gamma and seed, with sizes cut for `make test` (48 training
# and 32 test images, batch 16 and 64, 2 epochs, a log line per batch; the program's defaults are
# 60,000/10,000 images, batch 64 and 1000, 14 epochs). `Net`, `train`, `test` and the body of
# `main` are the program's.
import engine as torch
import nn
from nn import functional as F
import optim
from optim.lr_scheduler import StepLR


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(args, model, device, train_loader, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))
            if args.dry_run:
                break


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()  # sum up batch loss
            pred = output.argmax(dim=1, keepdim=True)  # get the index of the max log-probability
            correct += pred.eq(target.view_as(pred)).sum().item()

    test_loss /= len(test_loader.dataset)

    print('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
        test_loss, correct, len(test_loader.dataset),
        100. * correct / len(test_loader.dataset)))


# -- the replaced data source and arguments (not part of the original program) --------------------
class Args:
    batch_size, test_batch_size, epochs, lr, gamma = 16, 64, 2, 1.0, 0.7
    no_cuda = no_mps = dry_run = save_model = False
    seed, log_interval = 1, 1
    n_train, n_test = 48, 32


class synthetic_loader(list):  # noqa: N801  (stands in for DataLoader(datasets.MNIST(...)))
    """Batches of (images (B, 1, 28, 28), labels (B,)); ``.dataset`` has the sample count as len."""

    def __init__(self, n, batch_size, seed):
        import numpy as np
        rng = np.random.default_rng(seed)
        labels = rng.integers(0, 10, n)
        images = rng.normal(0.0, 0.3, (n, 1, 28, 28)).astype(np.float32)
        for i, k in enumerate(labels):
            r, c = 2 + 6 * (k // 4), 2 + 6 * (k % 4)
            images[i, 0, r:r + 4, c:c + 4] += 2.0
        super().__init__((torch.tensor(images[s:s + batch_size]), torch.tensor(labels[s:s + batch_size]))
                         for s in range(0, n, batch_size))
        self.dataset = range(n)


def main(args=Args):
    use_cuda = not args.no_cuda and torch.cuda.is_available()
    use_mps = not args.no_mps and torch.backends.mps.is_available()

    torch.manual_seed(args.seed)

    if use_cuda:
        device = torch.device("cuda")
    elif use_mps:
        device = torch.device("mps")
    else:
        device = torch.device("cpu")

    train_loader = synthetic_loader(args.n_train, args.batch_size, seed=0)
    test_loader = synthetic_loader(args.n_test, args.test_batch_size, seed=1)

    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)

    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch)
        test(model, device, test_loader)
        scheduler.step()

    if args.save_model:
        torch.save(model.state_dict(), "mnist_cnn.pt")


if __name__ == '__main__':
    main()
