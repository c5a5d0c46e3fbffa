/* test_si.c - the interpolant's denoiser weight (method/si): the second
 * head regresses sqrt(w) z, and the SDE's drift divides it back out, so
 * that a model's transport means the same eta whatever w it was trained
 * with. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "method/model.h"
#include "method/si.h"
#include "nn/net.h"

enum { D = 3, B = 5 };

void test_si_denoiser_weight(void)
{
    si_interp a = { .g = 0.5, .denoiser = 1 }, w = a;
    w.dweight = 0.25;
    float x0[B * D], x1[B * D], z[B * D], t[B], xt[B * D], xtw[B * D];
    float ta[B * 2 * D], tw[B * 2 * D];
    for (int i = 0; i < B * D; i++)
        x0[i] = (float)(i % 4) / 4.0f, x1[i] = (float)(i % 3) - 1.0f, z[i] = (float)(i % 5) - 2.0f;
    for (int i = 0; i < B; i++)
        t[i] = (float)(i + 1) / (B + 1);
    si_make_batch(&a, x0, x1, t, z, B, D, xt, ta);
    si_make_batch(&w, x0, x1, t, z, B, D, xtw, tw);
    CHECK(memcmp(xt, xtw, sizeof xt) == 0);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < D; j++) {
            size_t k = (size_t)i * 2 * D;
            CHECK(ta[k + j] == tw[k + j]);                  /* the drift's target */
            CHECK(ta[k + D + j] == z[i * D + j]);
            CHECK(tw[k + D + j] == 0.5f * z[i * D + j]);    /* sqrt(0.25) z */
        }

    /* One step of the SDE is the last, plain Euler and noiseless, from
     * t = 1: x - dt (b + head2 / sqrt(w)) with dt = 1. */
    model m;
    memset(&m, 0, sizeof m);
    m.oc = opt_defaults();
    m.ip = a;
    net_config c;
    memset(&c, 0, sizeof c);
    c.arch = NET_MLP;
    c.mlp = (mlp_config){ .dim = D, .temb = 4, .width = 8, .hidden = 2 };
    CHECK(model_create(&m, &c) == 0);
    unsigned v = 777;
    for (size_t i = 0; i < m.net.nparams; i++) {
        v = v * 1103515245u + 12345u;
        m.net.params[i] = (float)((v >> 8) % 2001) / 1000.0f - 1.0f;
    }
    float out[B * 2 * D], one[B], ya[B * D], yw[B * D];
    for (int i = 0; i < B; i++)
        one[i] = 1;
    CHECK(net_forward(&m.net, out, x1, NULL, one, B) == 0);
    memcpy(ya, x1, sizeof ya);
    memcpy(yw, x1, sizeof yw);
    CHECK(si_transport(&m.net, &a, 1, SI_EULER, 1, ya, NULL, B, 1, 0) == 0);
    CHECK(si_transport(&m.net, &w, 1, SI_EULER, 1, yw, NULL, B, 1, 0) == 0);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < D; j++) {
            const float *r = out + (size_t)i * 2 * D;
            CHECK_NEAR(ya[i * D + j], x1[i * D + j] - (r[j] + r[D + j]), 1e-5);
            CHECK_NEAR(yw[i * D + j], x1[i * D + j] - (r[j] + 2 * r[D + j]), 1e-5);
        }
    model_free(&m);
}
