"""deconv_ref.py - numpy references for tests/deconv.bats, written from the
manual pages (corrupt(1)'s operators, restore(1), tzmoments(1)), not from
the C sources: the instruments' matrices, the linear MMSE through them, and
the stationary prior's estimator.  Everything in float64 but the kernels,
which are f32 values as the instrument's are (simulate works in f32): a
kernel rounded to f32 moves |H(w)|^2 by 1e-7 of itself, more than the
tests allow."""
import math

import numpy as np


def reflect(i, n):
    """Index i mirrored into [0, n) about the edge pixels, not repeating
    them (numpy's 'reflect'), as often as needed."""
    if n == 1:
        return 0
    p = 2 * (n - 1)
    i %= p
    return i if i < n else p - i


def gauss_taps(sigma, radius=3):
    """The blur's taps (radius 3 sigma) or the smoothing's (radius 4)."""
    r = int(np.ceil(radius * sigma))
    t = np.array([math.exp(-0.5 * i * i / (sigma * sigma)) for i in range(-r, r + 1)])
    return (t / t.sum()).astype(np.float32).astype(np.float64)


def conv1d_matrix(n, taps):
    """(n, n): out[i] = sum_j taps[j] in[reflect(i - r + j)]."""
    r = len(taps) // 2
    B = np.zeros((n, n))
    for i in range(n):
        for j, t in enumerate(taps):
            B[i, reflect(i - r + j, n)] += t
    return B


def motion_kernel(k, theta):
    """The k x k line kernel: 16 k + 1 points on the segment of length
    k - 1 through the centre, counter-clockwise from the rows (which run
    downwards), each splat bilinearly (summed in f32, the total in
    float64), normalised to sum 1."""
    K = np.zeros((k, k), np.float32)
    c, total = (k - 1) / 2, 0.0
    for s in range(16 * k + 1):
        t = 0.0 if k == 1 else -c + 2 * c * s / (16 * k)
        x, y = c + t * math.cos(theta), c - t * math.sin(theta)
        x0, y0 = math.floor(x), math.floor(y)
        fx, fy = x - x0, y - y0
        for dy in (0, 1):
            for dx in (0, 1):
                xx, yy = x0 + dx, y0 + dy
                if 0 <= xx < k and 0 <= yy < k:
                    w = (fx if dx else 1 - fx) * (fy if dy else 1 - fy)
                    K[yy, xx] = np.float32(K[yy, xx] + np.float32(w))
                    total += w
    return (K.astype(np.float64) / total).astype(np.float32).astype(np.float64)


def conv2d_matrix(H, W, K):
    """(H W, H W): out[y, x] = sum K[i, j] in[reflect(y + i - c), reflect(x + j - c)]."""
    k = K.shape[0]
    c = (k - 1) // 2
    A = np.zeros((H * W, H * W))
    for y in range(H):
        for x in range(W):
            for i in range(k):
                for j in range(k):
                    A[y * W + x, reflect(y + i - c, H) * W + reflect(x + j - c, W)] += K[i, j]
    return A


def parse(spec):
    """[(op, {key: value})] of a linear SPEC."""
    ops = []
    for part in spec.split(","):
        name, *kv = part.split(":")
        ops.append((name, {k: float(v) for k, v in (a.split("=") for a in kv)}))
    return ops


def noise_var(spec):
    return sum(o.get("noise", o.get("sigma", 0) if n == "awgn" else 0) ** 2
               for n, o in parse(spec))


def chain_matrix(spec, C, H, W, mask=None, angle=None, smooth=None, tilt=None):
    """The spec's linear map on one (C, H, W) sample: mask the (H, W) 0/1
    array, angle the side field (theta / pi); smooth the smoothing's std
    (None: the spec's sigma), tilt the tilt's slope (None: no tilt)."""
    A = np.eye(C * H * W)
    for name, o in parse(spec):
        if name == "smooth":
            t = gauss_taps(smooth if smooth is not None else o.get("sigma", 2), 4)
            A = np.kron(np.eye(C * H), conv1d_matrix(W, t)) @ A
            continue
        if name == "tilt":
            mid = (W - 1) / 2
            t = 1 + (0 if tilt is None else tilt) * (np.arange(W) - mid) / mid
            A = np.diag(np.tile(t.astype(np.float32), C * H).astype(np.float64)) @ A
            continue
        if name == "snr":
            continue
        if name == "mask":
            S = np.diag(np.tile(mask.reshape(-1), C))
        elif name == "blur":
            B = conv1d_matrix(H, gauss_taps(o.get("sigma", 1)))
            Bw = conv1d_matrix(W, gauss_taps(o.get("sigma", 1)))
            S = np.kron(np.eye(C), np.kron(B, Bw))
        elif name == "motion":
            K = motion_kernel(int(o.get("k", 5)), np.pi * float(angle))
            S = np.kron(np.eye(C), conv2d_matrix(H, W, K))
        elif name == "down":
            f = int(o.get("f", 2))
            D = lambda n: np.kron(np.eye(n // f), np.full((f, f), 1 / f))
            S = np.kron(np.eye(C), np.kron(D(H), D(W)))
        elif name == "awgn":
            continue
        else:
            raise ValueError(name)
        A = S @ A
    return A


def lmmse(A, mu, S, y, s2, observed=None):
    """mu + S A^T (A S A^T + s2 I)^-1 (y_o - A mu), y_o zero where not
    observed (A's rows are zero there too); y one image (d) or one a row
    (n, d)."""
    yo = (y if observed is None else np.where(observed, y, 0)).T
    M = A @ S @ A.T + s2 * np.eye(len(A))
    r = yo - (A @ mu if yo.ndim == 1 else (A @ mu)[:, None])
    return (S @ A.T @ np.linalg.solve(M, r)).T + mu


def torus_response(spec, H, W, angle=0.0):
    """|H(w)|^2 of the spec's kernels placed on the H x W torus."""
    R = np.ones((H, W), complex)
    for name, o in parse(spec):
        if name == "blur":
            t = gauss_taps(o.get("sigma", 1))
            K = np.outer(t, t)
        elif name == "motion":
            K = motion_kernel(int(o.get("k", 5)), np.pi * float(angle))
        elif name == "awgn":
            continue
        else:
            raise ValueError(name)
        k = np.zeros((H, W))
        c = K.shape[0] // 2
        for i in range(K.shape[0]):
            for j in range(K.shape[1]):
                k[(i - c) % H, (j - c) % W] += K[i, j]
        R *= np.fft.fft2(k)
    return abs(R) ** 2


def hann(H, W):
    a = np.sin(np.pi * (np.arange(H) + 0.5) / H) ** 2
    b = np.sin(np.pi * (np.arange(W) + 0.5) / W) ** 2
    return np.outer(a, b)


def stationary(y, spec, angles=None):
    """tzmoments --stationary's estimate from observations y (n, C, H, W):
    the mean, the observations' spectrum Py and the clean one Px (C, H, W),
    and the covariance."""
    n, C, H, W = y.shape
    s2 = noise_var(spec)
    h = hann(H, W)
    mean = y.mean(0)
    if angles is None:
        resp = torus_response(spec, H, W)
    else:
        resp = np.mean([torus_response(spec, H, W, a) for a in angles], 0)
    d = C * H * W
    cov = np.zeros((d, d))
    Py, Px = np.zeros((C, H, W)), np.zeros((C, H, W))
    iy, ix = np.divmod(np.arange(H * W), W)
    for c in range(C):
        F = np.fft.fft2(h * (y[:, c] - mean[c]))
        Py[c] = (abs(F) ** 2).sum(0) / (n - 1) / (h**2).sum()
        Px[c] = np.where(Py[c] > 2 * s2, (Py[c] - s2) / resp, 0)
        cc = np.fft.ifft2(Px[c]).real
        blk = cc[(iy[:, None] - iy[None, :]) % H, (ix[:, None] - ix[None, :]) % W]
        cov[c * H * W:(c + 1) * H * W, c * H * W:(c + 1) * H * W] = blk
    return mean, Py, Px, cov


def tikhonov(A, y, s2, lam, order):
    """argmin |y - A x|^2 / s2 + lam |D x|^2 = (A^T A + lam s2 D^T D)^-1 A^T y,
    D the order-th differences (len(y) - order rows)."""
    n = A.shape[1]
    D = np.diff(np.eye(n), order, axis=0)
    return np.linalg.solve(A.T @ A + lam * s2 * D.T @ D, A.T @ y)
