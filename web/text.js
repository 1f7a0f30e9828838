// text.js: the prose of the lab. Keys, defaults, ranges and one-line help come from the
// core's schema (nl.configSchema()); this file adds only what a schema cannot say: why a
// loss resists noise, how the controls group, what a dataset's numbers mean.
//
// "Active" and "passive" follow Ma et al. 2020 (APL, "Normalized Loss Functions for Deep
// Learning with Noisy Labels"): an active loss only looks at the labelled class (it pushes
// p_y up); a passive loss also looks at the other classes (it pushes their p_k down).
// p = softmax(z), y = the given label, K = number of classes.

export const LOSS_TEXT = {
  ce: 'Cross-entropy, −log p_y. Active. The standard loss and the baseline: it is unbounded, and its gradient grows as p_y shrinks, so examples whose label disagrees with the network (often the mislabelled ones) get the largest updates. With enough epochs it memorises noisy labels: watch the clean training accuracy fall while the noisy one rises.',
  mae: 'Mean absolute error, as the APL code computes it: the "reduced" MAE 1 − p_y, which is exactly half of Σ_k |p_k − onehot_k|. Passive in APL\'s terms, and symmetric (its sum over all possible labels is constant), which makes it provably robust to symmetric noise (Ghosh et al. 2017). Bounded, but its gradient is small where p_y is small, so it trains slowly and underfits on harder datasets.',
  rce: 'Reverse cross-entropy, −Σ_k p_k log q_k with log 0 clipped to ln 1e-4, which reduces to A(1 − p_y) with A = 9.21. Passive and symmetric like MAE, hence robust, and just as slow to fit on its own.',
  sce: 'Symmetric cross-entropy (Wang et al. 2019): α·CE + β·RCE. CE does the fitting, the robust RCE term keeps mislabelled examples from dominating. alpha weighs CE and beta RCE; auto takes the APL settings for the dataset.',
  gce: 'Generalised cross-entropy (Zhang & Sabuncu 2018): (1 − p_y^q)/q. Active. It moves between CE (q → 0) and MAE (q = 1): a larger q is more robust but fits more slowly. Bounded by 1/q, so no single example can take over the gradient.',
  fl: 'Focal loss (Lin et al. 2017): −(1 − p_y)^γ log p_y. Active. It down-weights examples that are already fitted, which helps with class imbalance, but it is not robust to label noise by itself: mislabelled examples are exactly the badly fitted ones it emphasises.',
  nce: 'Normalised cross-entropy: log p_y / Σ_k log p_k, CE divided by its sum over all possible labels. Active. The normalisation makes it symmetric and so robust to noise (APL), but alone it underfits: the normalised gradient is weak.',
  nfl: 'Normalised focal loss: the focal loss divided by its sum over all labels. Active and robust like NCE, and like NCE it underfits alone; APL pairs it with a passive loss.',
  ngce: 'Normalised GCE: (1 − p_y^q)/(K − Σ_k p_k^q). Active, robust by normalisation; usually paired with a passive term (ngce+mae, ngce+rce).',
  nmae: 'Normalised MAE: (1 − p_y)/(K − 1). MAE is already symmetric, so normalising only rescales it: passive, robust, slow to fit.',
  'nce+mae': 'Active-passive loss (APL): α·NCE + β·MAE. Both terms are robust; the active NCE pushes p_y up and the passive MAE pushes the other classes down, so together they fit well where each alone underfits.',
  'nce+rce': 'Active-passive loss (APL): α·NCE + β·RCE, the combination APL recommends most often. Both terms are robust (normalised and symmetric), and the passive RCE supplies the fitting strength NCE lacks.',
  'nfl+mae': 'Active-passive loss (APL): α·NFL + β·MAE. The normalised focal term is active and robust; MAE adds a robust passive term.',
  'nfl+rce': 'Active-passive loss (APL): α·NFL + β·RCE. The normalised focal term is active and robust; RCE adds a robust passive term.',
  'ngce+mae': 'Active-passive loss (APL): α·NGCE + β·MAE. The normalised GCE term is active and robust; MAE adds a robust passive term.',
  'ngce+rce': 'Active-passive loss (APL): α·NGCE + β·RCE. The normalised GCE term is active and robust; RCE adds a robust passive term.',
  'cb-ce': 'Class-balanced cross-entropy (Cui et al. 2019): CE weighted per class by (1 − β)/(1 − β^n), n the class\'s training count, so rare classes count more. Aimed at class imbalance (imbalance, rho), not at label noise: noisy labels are weighted like clean ones.',
  'cb-focal': 'Class-balanced focal loss: the focal loss with the class-balanced weights of cb-ce. For class imbalance, not label noise.',
  triplet: 'Triplet margin loss on the network\'s output used as an embedding: max(0, d(a, pos) − d(a, neg) + margin), triplets sampled within the batch; predictions are the nearest class centroid. It learns distances rather than class scores; mislabelled examples make wrong positives and negatives, so it is not robust by design.',
  'cosine-embedding': 'Cosine embedding loss: 1 − cos(z, e_y), the angle between the output and the label\'s one-hot vector. Bounded and scale-free, which blunts the pull of any single example, but it is not a symmetric loss.',
};

// what each group of controls is for; a key the core adds later lands in 'Other'
export const GROUPS = [
  { name: 'Preset', keys: ['preset'] },
  { name: 'Data', keys: ['dataset', 'classes', 'train', 'test', 'val', 'hops', 'max_nodes', 'aug'] },
  { name: 'Label noise and imbalance', keys: ['noise_type', 'noise', 'noise_matrix', 'imbalance', 'rho'] },
  { name: 'Loss', keys: ['loss', 'alpha', 'beta', 'q', 'gamma', 'cb_beta', 'margin', 'pnorm'] },
  { name: 'Model', keys: ['model', 'mult', 'depth', 'width', 'act', 'dropout', 'init', 'bn_momentum', 'hidden', 'heads', 'out_heads', 'attn_dropout'] },
  { name: 'Optimiser', keys: ['opt', 'lr', 'momentum', 'nesterov', 'wd', 'clip', 'beta1', 'beta2', 'eps'] },
  { name: 'Schedule and length', keys: ['sched', 'step_every', 'step_factor', 'lr_min', 'epochs', 'batch', 'eval_batch'] },
  { name: 'Early stopping', keys: ['patience'] },
  { name: 'Other', keys: ['tsne', 'seed'] },
];

// keys shown only when another key has one of these values (the core accepts them always)
export const SHOWN_WHEN = {
  classes: { dataset: ['synth', 'mnist', 'fashion-mnist', 'cifar10'] }, // graphs refuse a class subset
  // the k-hop subset of a knowledge graph (core/subgraph.h); other datasets refuse it
  hops: { dataset: ['aifb', 'mutag', 'aifb-kgbench', 'mmlkg-synthetic', 'bundle'] },
  max_nodes: { dataset: ['aifb', 'mutag', 'aifb-kgbench', 'mmlkg-synthetic', 'bundle'] },
  noise_matrix: { noise_type: ['custom'] },
  noise: { noise_type: ['sym', 'sym-incl', 'asym', 'pair'] },
  rho: { imbalance: ['long-tail', 'step'] },
  depth: { model: ['mlp'] }, width: { model: ['mlp'] }, act: { model: ['mlp'] },
  mult: { model: ['cnn-small', 'cnn4', 'cnn8', 'resnet9', 'refcnn'] },
  momentum: { opt: ['sgd', 'rmsprop'] }, nesterov: { opt: ['sgd'] },
  beta1: { opt: ['adam'] }, beta2: { opt: ['adam', 'rmsprop'] }, eps: { opt: ['adam', 'rmsprop', 'adagrad'] },
  step_every: { sched: ['step'] }, step_factor: { sched: ['step'] }, lr_min: { sched: ['cosine'] },
};
// the loss parameters (the Loss group) are shown when nl.lossParams() resolves them for the loss

export const DATASET_NOTES = {
  synth: 'Generated by the core from a fixed seed (every run sees the same images): 10 classes of drawn shapes. Needs no download.',
  mnist: 'Handwritten digits.',
  'fashion-mnist': 'Zalando article images, a harder drop-in for MNIST.',
  cifar10: 'Test accuracy is on the 1,000 available test images (test_batch images 0–999), not the usual 10,000.',
  bundle: 'A knowledge graph in one file, written by `npx noisylab graph-subset` (e.g. a k-hop cut of dmg777k): pick the file before Run. The result names the file and what it was cut from.',
};
