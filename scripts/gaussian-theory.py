#!/usr/bin/python3
"""gaussian-theory.py - the Gaussian-channel theory of one SCSI step, three ways.

The clean law is N(mu, Sigma), the instrument y = x + sigma n, the current
model q = N(m, S).  The interpolant joins x0 ~ q to x1 = x0 + sigma n:
x_t = x0 + t sigma n + gamma(t) z with gamma(t) = g t (1 - t), so along a
direction where S has eigenvalue lam the deviation u = x_t - m has variance

    V(t) = lam + t^2 sigma^2 + gamma(t)^2.

The exact fields are linear in u.  The ODE (g = 0) moves u back by
b = V'/(2V) u; the combined SDE adds the diffusion eps(t) = gamma(t):
drift b - gamma * score = (V'/2 + gamma) u / V, noise sqrt(2 gamma dt).
Integrating from t = 1 to 0, the transport maps u(1) to Phi u(1) + noise:

    Phi = sqrt(lam / (lam + sigma^2)) * kappa,
    kappa = exp(-int_0^1 gamma(t) / V(t) dt),     noise variance lam (1 - kappa^2).

The gamma(t)^2 inside V is easy to forget (an earlier version of this
experiment did, and its SDE factor at SNR 10 was off by 16%).

Three independent evaluations of the step map (Phi, noise):
  closed   the formula above, kappa by 64-point Gauss-Legendre quadrature;
  moments  the moment equations of the transport integrated by RK4, with
           the drift's coefficient computed from the interpolant's own
           covariances Cov(target, x_t) / Var(x_t) (not from V'/2V), so a
           slip in the derivation shows up as a disagreement;
  euler    the recursion of the discrete scheme the runs use (pushback:
           N Euler steps from t = 1, the drift and gamma at the step's
           start, no noise on the last step).

Usage:
  gaussian-theory.py check                     closed vs moments (and euler), a table
  gaussian-theory.py analyse TRACE G N_STEPS TAU OUTDIR
"""
import math
import sys

import numpy as np


def kappa_closed(lam, s2, g):
    """kappa for eigenvalues lam (array) by Gauss-Legendre on [0, 1]."""
    if g == 0:
        return np.ones_like(lam)
    x, w = np.polynomial.legendre.leggauss(64)
    t, w = (x + 1) / 2, w / 2
    gm = g * t * (1 - t)
    V = lam[:, None] + s2 * t**2 + gm**2
    return np.exp(-(w * gm / V).sum(1))


def step_closed(lam, s2, g):
    """(Phi, noise variance) per eigenvalue, the closed form."""
    k = kappa_closed(lam, s2, g)
    return np.sqrt(lam / (lam + s2)) * k, lam * (1 - k * k)


def drift_coef(lam, s2, g, t):
    """c with drift = c u, from the interpolant's covariances.

    x_t - m = x0' + t sigma n + gamma z; the combined target is
    sigma n + (gamma' + 1) z (the ODE's, with g = 0, is sigma n).
    c = Cov(target, x_t) / Var(x_t)."""
    gm, dg = g * t * (1 - t), g * (1 - 2 * t)
    zc = 1.0 if g > 0 else 0.0
    cov = t * s2 + gm * (dg + zc)
    var = lam + t * t * s2 + gm * gm
    return cov / var


def step_moments(lam, s2, g, steps=4000):
    """(Phi, noise variance) by RK4 on the moment equations, t from 1 to 0.

    Going back by dt: mu <- mu - c mu dt, v <- v - 2 c v dt + 2 gamma dt,
    so in t: dmu/dt = c mu, dv/dt = 2 c v - 2 gamma."""
    def f(t, y):
        c = drift_coef(lam, s2, g, t)
        gm = g * t * (1 - t)
        return np.stack([c * y[0], 2 * c * y[1] - 2 * gm])
    y = np.stack([np.ones_like(lam), np.zeros_like(lam)])
    h = -1.0 / steps
    for i in range(steps):
        t = 1 + i * h
        k1 = f(t, y)
        k2 = f(t + h / 2, y + h / 2 * k1)
        k3 = f(t + h / 2, y + h / 2 * k2)
        k4 = f(t + h, y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return y[0], y[1]


def step_euler(lam, s2, g, steps):
    """(Phi, noise variance) of pushback's Euler scheme with `steps` steps."""
    phi, v = np.ones_like(lam), np.zeros_like(lam)
    dt = 1.0 / steps
    for s in range(steps):
        t0 = 1 - s * dt
        a = 1 - dt * drift_coef(lam, s2, g, t0)
        phi, v = phi * a, v * a * a
        if g > 0 and s < steps - 1:
            v = v + 2 * g * t0 * (1 - t0) * dt
    return phi, v


def step_map(kind, S, s2, g, steps):
    """The transport's (A, noise covariance) for a model covariance S (d, d):
    every field is a function of S, so both are, in S's eigenbasis."""
    lam, U = np.linalg.eigh(S)
    lam = np.maximum(lam, 1e-12)
    if kind == "closed":
        phi, nv = step_closed(lam, s2, g)
    elif kind == "euler":
        phi, nv = step_euler(lam, s2, g, steps)
    else:
        phi, nv = step_moments(lam, s2, g)
    return U @ np.diag(phi) @ U.T, U @ np.diag(nv) @ U.T


def check():
    """Closed form against the integrated moment equations, and the Euler
    scheme beside them; returns the largest relative disagreement."""
    lam = np.array([0.05, 0.25, 1.0, 2.5, 10.0])
    worst = 0.0
    print("snr\tg\tlambda\tphi_closed\tphi_moments\tphi_euler40\tnoise_closed\tnoise_moments\tnoise_euler40")
    for s2 in (10.0, 1.0, 0.1):
        for g in (0.0, 1.0, 3.0):
            pc, nc = step_closed(lam, s2, g)
            pm, nm = step_moments(lam, s2, g)
            pe, ne = step_euler(lam, s2, g, 40)
            for i in range(len(lam)):
                print("%g\t%g\t%g\t%.8g\t%.8g\t%.6g\t%.8g\t%.8g\t%.6g" % (
                    1 / s2, g, lam[i], pc[i], pm[i], pe[i], nc[i], nm[i], ne[i]))
            worst = max(worst, np.max(np.abs(pm / pc - 1)),
                        np.max(np.abs(nm - nc) / np.maximum(lam, 1e-300)))
    return worst


def load_trace(path):
    """{(snr, method): {k: (m, S)}} and {snr: (ybar, Cy)} from trace.tsv."""
    runs, obs = {}, {}
    with open(path) as f:
        head = f.readline().rstrip("\n").split("\t")
        for line in f:
            r = dict(zip(head, line.rstrip("\n").split("\t")))
            m = np.array([float(r["m1"]), float(r["m2"])])
            S = np.array([[float(r["s11"]), float(r["s12"])], [float(r["s12"]), float(r["s22"])]])
            if r["method"] == "obs":
                obs[r["snr"]] = (m, S)
            else:
                runs.setdefault((r["snr"], r["method"]), {})[int(r["iteration"])] = (m, S)
    return runs, obs


def errors(m, S, ybar, Sig):
    """The distances to the sample's fixed point (ybar, Sig): |m - ybar| and
    the precision error tr(Sig S^-1)/d - 1."""
    return np.linalg.norm(m - ybar), np.trace(Sig @ np.linalg.inv(S)) / len(m) - 1


def predict(kind, method, m, S, ybar, Cy, s2, g, steps):
    """The next model's moments from (m, S): the transport of the sample y
    (mean ybar, covariance Cy) through the exact fields of N(m, S)."""
    if method == "em":      # posterior gain, then moment matching
        K = S @ np.linalg.inv(S + s2 * np.eye(len(m)))
        return m + K @ (ybar - m), S - K @ S + K @ Cy @ K.T
    A, Nv = step_map(kind, S, s2, g if method == "sde" else 0.0, steps)
    return m + A @ (ybar - m), A @ Cy @ A.T + Nv


def analyse(trace, s2_of, g, steps, tau, outdir):
    runs, obs = load_trace(trace)
    gm = lambda a: math.exp(sum(map(math.log, a)) / len(a)) if a else float("nan")
    with open(outdir + "/steps.tsv", "w") as st, open(outdir + "/metrics.tsv", "w") as mt:
        st.write("snr\tmethod\tquantity\tstep\terr_before\terr_after\tmeasured\tpredicted\tpredicted_euler\tcounted\n")
        mt.write("snr\tmethod\tquantity\tsteps_counted\tmeasured_factor\tpredicted_factor\tpredicted_euler\toff_by\twithin_15pct\n")
        for (snr, meth), it in sorted(runs.items(), key=lambda kv: (float(kv[0][0]), kv[0][1])):
            ybar, Cy = obs[snr]
            s2 = s2_of(float(snr))
            Sig = Cy - s2 * np.eye(len(ybar))
            for qi, q in enumerate(("mean", "precision")):
                meas, pred, peul = [], [], []
                ks = sorted(it)
                for k0, k1 in zip(ks, ks[1:]):
                    e0 = errors(*it[k0], ybar, Sig)[qi]
                    e1 = errors(*it[k1], ybar, Sig)[qi]
                    pc = errors(*predict("closed", meth, *it[k0], ybar, Cy, s2, g, steps), ybar, Sig)[qi]
                    pe = errors(*predict("euler", meth, *it[k0], ybar, Cy, s2, g, steps), ybar, Sig)[qi]
                    counted = abs(e1) >= tau and abs(e0) >= tau
                    rm, rp, re = abs(e1 / e0), abs(pc / e0), abs(pe / e0)
                    st.write("%s\t%s\t%s\t%d\t%.6g\t%.6g\t%.5g\t%.5g\t%.5g\t%d\n" % (
                        snr, meth, q, k1, e0, e1, rm, rp, re, counted))
                    if counted:
                        meas.append(rm), pred.append(rp), peul.append(re)
                a, b, c = gm(meas), gm(pred), gm(peul)
                off = a / b - 1 if meas else float("nan")
                mt.write("%s\t%s\t%s\t%d\t%.4g\t%.4g\t%.4g\t%+.3f\t%s\n" % (
                    snr, meth, q, len(meas), a, b, c, off,
                    "-" if not meas else ("yes" if abs(off) <= 0.15 else "no")))


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "check":
        w = check()
        print("# largest relative difference, closed form vs integrated moments: %.2e" % w, file=sys.stderr)
        sys.exit(0 if w < 1e-6 else 1)
    if len(sys.argv) == 7 and sys.argv[1] == "analyse":
        analyse(sys.argv[2], lambda r: 1 / r, float(sys.argv[3]), int(sys.argv[4]),
                float(sys.argv[5]), sys.argv[6])
        sys.exit(0)
    print(__doc__, file=sys.stderr)
    sys.exit(2)
