# A contrastive encoder with an EMA teacher (mean-teacher style): cosine similarity, lerp_ for the teacher,
# a hand-written Adam step with addcmul_/addcdiv_, class weights from bincount/unique, tensor clamp bounds, and a
# closed-form ridge readout with linalg.solve each step (its residual is added to the printed loss).
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(3)
x_all = torch.tensor(rng.standard_normal((64, 10)), dtype=torch.float32)
y_all = torch.tensor(rng.integers(0, 3, 64))
counts = torch.bincount(y_all, minlength=3)
classes, inverse = torch.unique(y_all, return_inverse=True)
class_weight = (counts.sum() / (len(classes) * counts.float()))[inverse]


def init_weights(model, scale=0.3):
    r = np.random.default_rng(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.tensor(r.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


student = nn.Sequential(nn.Linear(10, 16), nn.Tanh(), nn.Linear(16, 8))
teacher = nn.Sequential(nn.Linear(10, 16), nn.Tanh(), nn.Linear(16, 8))
init_weights(student)
teacher.load_state_dict(student.state_dict())
for p in teacher.parameters():
    p.requires_grad_(False)
state = [(torch.zeros_like(p), torch.zeros_like(p)) for p in student.parameters()]
lo, hi = torch.full((8,), -0.9), torch.full((8,), 0.9)
for step in range(1, 21):  # (printed from 0, as the harness reads the lines)
    noise = torch.tensor(rng.standard_normal((64, 10)) * 0.1, dtype=torch.float32)
    z_s = student(x_all + noise).clamp(lo, hi)
    with torch.no_grad():
        z_t = teacher(x_all)
    sim = F.cosine_similarity(z_s, z_t, dim=1)
    loss = ((1 - sim) * class_weight).mean() + 0.01 * torch.linalg.vector_norm(z_s, dim=1).mean()
    student.zero_grad()
    loss.backward()
    with torch.no_grad():
        for p, (m, v) in zip(student.parameters(), state):
            m.mul_(0.9).add_(p.grad, alpha=0.1)
            v.mul_(0.999).addcmul_(p.grad, p.grad, value=0.001)
            denom = (v / (1 - 0.999**step)).sqrt().add_(1e-8)
            p.addcdiv_(m, denom, value=-0.05 / (1 - 0.9**step))
        for pt, ps in zip(teacher.parameters(), student.parameters()):
            pt.lerp_(ps, 0.2)
        feats = teacher(x_all)
        onehot = F.one_hot(y_all, 3).float()
        gram = feats.t() @ feats + 0.5 * torch.eye(8)
        readout = torch.linalg.solve(gram, feats.t() @ onehot)
        residual = ((feats @ readout - onehot) ** 2).mean()  # the readout's fit, printed with the loss
    print(f"step {step - 1} loss {loss.item() + residual.item()!r}")
