"""A complete training script in PyTorch's style: LeNet on the bundled 8x8 digits (scaled to 32x32)."""

import fastnn as torch
import fastnn.nn as nn
from fastnn.datasets import Digits
from fastnn.utils.data import DataLoader

torch.manual_seed(0)
train_set, test_set = Digits(train=True), Digits(train=False)
train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
test_loader = DataLoader(test_set, batch_size=256)

model = nn.Sequential(
    nn.Conv2d(1, 6, 5),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(6, 16, 5),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(16 * 5 * 5, 120),
    nn.ReLU(),
    nn.Linear(120, 84),
    nn.ReLU(),
    nn.Linear(84, 10),
)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)

for epoch in range(10):
    model.train()
    for images, labels in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
    scheduler.step()

    model.eval()
    correct = 0
    with torch.no_grad():
        for images, labels in test_loader:
            correct += (model(images).argmax(dim=1) == labels).sum().item()
    print(f"epoch {epoch + 1}: loss {loss.item():.4f}, test accuracy {correct / len(test_set):.2%}")

torch.save(model.state_dict(), "digits_lenet.safetensors")
model.load_state_dict(torch.load("digits_lenet.safetensors"))
