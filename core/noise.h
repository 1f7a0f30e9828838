/* noise.h: label noise and class imbalance of the training set.

   Order of a run: the training indices are chosen (split), then thinned by
   imbalance_select (class imbalance), then their labels are corrupted by
   noise_apply (label noise). The test and validation sets keep clean labels.

   noise_apply(c, dataset, K, clean, n, given, rng, counts)
     clean[0..n) are the true labels of the training set, given[0..n) receives
     the labels the network is trained on, counts[K*K] (row = true class,
     column = given label) the realised transition counts. rng is the run's
     STREAM_NOISE generator; all draws happen in a fixed order (classes 0..K-1,
     samples in index order), so the same seed gives the same labels.
     Returns 0, or -1 with the message in the error slot (err.h).

   The models (c->noise_type, rate eta = c->noise):
     sym       exclusive, exact count (the APL code's semantics, reference
               section 2): for each class c exactly m_c = floor(eta * n_c)
               samples, chosen without replacement, are relabelled uniformly
               among the K-1 OTHER classes. Wrong-label fraction = eta up to
               rounding. (APL takes int(eta*N)/K per class, the same for
               balanced classes; per-class counts keep eta exact under
               imbalance too.)
     sym-incl  inclusive: each label is redrawn with probability eta uniformly
               from all K classes, so it may come back unchanged; the
               wrong-label fraction is about eta * (K-1) / K (DivideMix).
     asym      class-dependent flips to a visually similar class, preset per
               dataset (noise_asym_map). For each source class c exactly
               floor(eta * n_c) samples of CLEAN class c are moved to its
               target. The choice is made on the original labels, so a
               two-way pair (cat <-> dog) flips eta of the cats and eta of the
               dogs and a flipped cat is never flipped back. The APL code
               applies the classes one after another on the current labels,
               so some cats come back (effective cat->dog 0.158 at eta 0.2,
               reference section 1.3); this lab does not copy that quirk.
               APL's MNIST uses per-sample draws; here every preset uses the
               exact count.
     pair      i -> i+1 (mod K) for exactly floor(eta * n_c) samples of each
               class (pair flipping, Han et al. 2018).
     custom    every given label is drawn from row clean[i] of the K x K matrix
               P(given | true) in c->noise_matrix; eta is ignored (the matrix
               says it all, as the config schema states).
     eta = 0 (any model but custom) leaves given = clean.

   floor(eta * n_c) is computed with a relative slack of 1e-9 (noise_count):
   eta comes from decimal text, and 0.29 * 100 = 28.999999999999996 in
   binary must still give 29 samples.
   counts may be NULL; given must not be the same buffer as clean.

   Asymmetric presets (source -> target, classes not listed stay clean):
     cifar10        truck->automobile 9->1, bird->airplane 2->0, cat<->dog
                    3<->5, deer->horse 4->7 (APL / Patrini et al.).
     mnist          7->1, 2->7, 5<->6, 3->8 (APL).
     fashion-mnist  the lab's own mapping (no published preset), chosen by
                    visual similarity of the items, the pairs that Fashion-MNIST
                    classifiers are commonly reported to confuse (not measured
                    here): shirt<->T-shirt/top 6<->0 (same silhouette),
                    pullover->coat 2->4 (long sleeves, same outline),
                    sandal->sneaker 5->7 and ankle boot->sneaker 9->7 (footwear,
                    like truck->automobile). Five source classes, like CIFAR-10,
                    so the wrong fraction is about eta/2.
     synth          the lab's own mapping on the generated shapes
                    (synth_class_names in data.h): h-stripes<->v-stripes 5<->6
                    (the same pattern turned by 90 degrees), ring->disc 4->0
                    (same outline, hole filled), checker->square 8->1 (same
                    square support), dots->checker 9->8 (both a regular texture
                    filling a square). Five source classes again.
   Any other dataset, or a K other than 10, is refused with a hint to use sym,
   pair or custom. With a class subset (c->classes, config.h) the labels are
   the k kept classes in their listed order: the preset's pairs between kept
   classes apply, a pair whose source is dropped has no samples, and a kept
   class whose target is dropped is refused (naming both classes and the key
   classes) instead of quietly staying clean.

   imbalance_select(c, K, labels, idx, n, out, nout, class_counts)
     idx[0..n) are the candidate training indices in their (shuffled,
     deterministic) order, labels[] is indexed by the values of idx. Writes
     the kept indices to out (in their input order: the first n_c candidates
     of each class are kept), their number to *nout and the per-class counts
     to class_counts[K]. No randomness: the order of idx already is random.
       none       everything is kept.
       long-tail  n_c = floor(n_max * (1/rho)^(c/(K-1))), the expression of
                  Cui et al. (get_img_num_per_cls), so CIFAR-10 with 5000 per
                  class and rho = 100 gives 5000, 2997, 1796, ..., 50.
       step       the first ceil(K/2) classes keep n_max, the others
                  floor(n_max / rho) (Buda et al. 2018, minority fraction
                  mu = 0.5; for odd K the majority has one class more).
     n_max is the largest count for which every class can supply its n_c
     from the candidates: n_max = min over c of floor(avail_c / f_c), where
     f_c is the class's fraction of n_max (then lowered while flooring still
     asks too much). On a balanced set this is the class size, as in Cui et
     al.; on a random subset the class that is shortest relative to its
     quota decides. A class that would keep 0 samples is refused (lower rho
     or use more training images). rho = 1 gives every class min_c avail_c.
*/
#ifndef NL_NOISE_H
#define NL_NOISE_H

#include "config.h"
#include "rng.h"

int noise_apply(const Config *c, const char *dataset, int K, const int *clean, int n, int *given,
                Rng *rng, long *counts);

/* Parses "a,b,..;c,d,..;..." into P[K*K] (row = true class). Refuses a matrix
   that is not K x K (naming the key noise_matrix and both sizes), entries that
   are not probabilities and rows that do not sum to 1 (within 1e-4). */
int noise_parse_matrix(const char *text, int K, double *P);

/* The asym preset of a dataset: target[c] = where class c is flipped to
   (c itself when unmapped). Returns 0, or -1 when the dataset has no preset
   for K classes. */
int noise_asym_map(const char *dataset, int K, int *target);

/* floor(eta * n) as used by the exact-count models (see above) */
long noise_count(double eta, long n);

int imbalance_select(const Config *c, int K, const int *labels, const int *idx, int n, int *out,
                     int *nout, long *class_counts);

#endif
