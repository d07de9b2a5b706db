"""One-off check: DMR-GAN (generator version, DMR defaults except 5 epochs) trained on the BoT study source
(seed 1000, /tmp/reid_bench/bot) vs DMR-PGD, white-box on the source and grey-box on the seed-0 baseline.
Run after benchmarks/reid_study.py --target bot --out /tmp/reid_bench/bot."""
import time, torch, json
torch.set_num_threads(1)
from nlvision.reid import load_reid_model, load_reid_data
from nlvision.reid.attack import AttackConfig, GANConfig, train_dmr_gan, attack_images
from nlvision.reid.data import ReIDImageDataset
from nlvision.reid.evaluate import evaluate_features
from nlvision.reid.train import extract_features
data = load_reid_data("synthetic")
src = load_reid_model("/tmp/reid_bench/bot/source_seed1000/model.safetensors")
tgt = load_reid_model("/tmp/reid_bench/bot/baseline/seed0/model.safetensors")
t = time.time()
acfg = AttackConfig(epsilon=16)
gan = train_dmr_gan(src, data.train, acfg, GANConfig(epochs=5, seed=1000))
t_train = time.time() - t
qds = ReIDImageDataset(data.query, (64, 32)); q = torch.stack([qds.image(i) for i in range(len(qds))])
adv = attack_images(src, q, data.query.pids, "dmr-gan", acfg, generator_net=gan)
gds = ReIDImageDataset(data.gallery, (64, 32))
res = {}
for name, m in (("source (white-box)", src), ("bot baseline seed 0 (grey-box)", tgt)):
    gf = extract_features(m, gds)
    for cond, qq in (("clean", q), ("dmr-gan eps16", adv)):
        met, _ = evaluate_features(extract_features(m, qq), gf, data.query.pids, data.gallery.pids, data.query.camids, data.gallery.camids)
        res[f"{name} {cond}"] = round(100 * met.mAP, 1)
res["gan_train_s"] = round(t_train, 1); res["linf"] = float((adv - q).abs().max()) * 255
print(json.dumps(res), flush=True)
