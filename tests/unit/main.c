/* main.c - runs every unit test; see check.h.  Add a test by declaring it
 * here and listing it in g_tests. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "tool/blas.h"

int g_check_failed;

#define TESTS(X)                 \
    X(test_rng_philox_kat)       \
    X(test_par_pool)             \
    X(test_rng_keying)           \
    X(test_rng_moments)          \
    X(test_tz_roundtrip)         \
    X(test_tz_raw_and_zstd)      \
    X(test_tz_rejects)           \
    X(test_tz_concat_segments)   \
    X(test_tz_convert)           \
    X(test_stats_merge)          \
    X(test_fwd_parse)            \
    X(test_fwd_kernels)          \
    X(test_fwd_mask_fraction)    \
    X(test_fwd_blur_preserves_constant) \
    X(test_fwd_noise_std)        \
    X(test_fwd_jpeg_quality)     \
    X(test_fwd_poisson)          \
    X(test_fwd_spectral)         \
    X(test_fwd_project)          \
    X(test_fwd_determinism)      \
    X(test_lin_adjoint)          \
    X(test_lin_smooth_dense)     \
    X(test_lin_chain_of_spec)    \
    X(test_nn_linear_vs_ref)     \
    X(test_nn_silu_finite_difference) \
    X(test_nn_temb)              \
    X(test_mlp_gradient_finite_difference) \
    X(test_opt_adamw_formula)    \
    X(test_opt_clip_and_schedule) \
    X(test_opt_threads) \
    X(test_nn_conv2d)            \
    X(test_nn_conv2d_threads)    \
    X(test_simd_silu_levels)     \
    X(test_simd_silu_grad_levels) \
    X(test_sum_levels)           \
    X(test_wino_levels)          \
    X(test_nn_conv2d_large)      \
    X(test_nn_conv_plus)         \
    X(test_nn_groupnorm)         \
    X(test_nn_upsample_concat)          \
    X(test_unet_gradient_finite_difference) \
    X(test_unet_small_shape)     \
    X(test_unet_infer_bits)      \
    X(test_nn_softmax_xent)      \
    X(test_cnn_gradient_finite_difference) \
    X(test_cnn_shapes)           \
    X(test_unet1d_gradient_finite_difference) \
    X(test_dps_guidance_finite_difference) \
    X(test_nn_conv1d)            \
    X(test_img_png_roundtrip)    \
    X(test_img_png_expand)       \
    X(test_img_f32_exact)        \
    X(test_img_png_rejects)      \
    X(test_img_png_caps)         \
    X(test_img_jpeg_quality)     \
    X(test_img_jpeg_rejects)     \
    X(test_img_read_file)        \
    X(test_sheet_render)         \
    X(test_npy_numpy_bytes)      \
    X(test_npy_rejects)          \
    X(test_idx_debian)           \
    X(test_idx_types)            \
    X(test_idx_rejects)          \
    X(test_csv_roundtrip)        \
    X(test_csv_rejects)          \
    X(test_idx_type_names)       \
    X(test_export_shapes)        \
    X(test_export_stream)        \
    X(test_dist_mmd_vs_naive)    \
    X(test_dist_mmd_same_distribution) \
    X(test_dist_mmd_gaussians)   \
    X(test_dist_swd)             \
    X(test_dist_median_bandwidth) \
    X(test_imq_mse_psnr)         \
    X(test_imq_ssim)             \
    X(test_tsv_read)             \
    X(test_tsv_rejects)          \
    X(test_chart_ranges)         \
    X(test_chart_series)         \
    X(test_pairs_load_draw)      \
    X(test_pairs_part)           \
    X(test_model_widths_snapshot) \
    X(test_mattr_roundtrip_and_rejects) \
    X(test_classic_neighbour_4x4) \
    X(test_classic_harmonic)     \
    X(test_classic_lmmse_2d)     \
    X(test_moments_estimators)   \
    X(test_frechet_trace_sqrt)   \
    X(test_psd_sqrt)             \
    X(test_kid_mmd2_vs_naive)    \
    X(test_kid_pool_and_subsets) \
    X(test_gmm_spec)             \
    X(test_gmm_score_divergence_finite_difference) \
    X(test_gmm_product_exact)    \
    X(test_smc_weights_resampling) \
    X(test_prior_model_score)    \
    X(test_si_denoiser_weight)   \
    X(test_shards_tree_order)    \
    X(test_shards_shares)        \
    X(test_shard_ranges)         \
    X(test_shard_open)

#define DECLARE(f) void f(void);
TESTS(DECLARE)
#define ENTRY(f) { #f, f },
static const struct {
    const char *name;
    void (*fn)(void);
} g_tests[] = { TESTS(ENTRY) };

int main(int argc, char **argv)
{
    blas_refit(argv);    /* OpenBLAS's kernels for this CPU, as the tools run */
    int passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof g_tests / sizeof *g_tests; i++) {
        if (argc > 1 && !strstr(g_tests[i].name, argv[1]))
            continue;
        g_check_failed = 0;
        g_tests[i].fn();
        printf("%s %s\n", g_check_failed ? "FAIL" : "ok  ", g_tests[i].name);
        if (g_check_failed)
            failed++;
        else
            passed++;
    }
    printf("unit: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
