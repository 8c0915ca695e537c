rule train:
    input:
        split=f"data/splits/{{study}}/{SETTING}.json",
    output:
        history=f"results/{{study}}/history/{SETTING}/{{method}}/seed{{seed}}.json",
        prov=f"results/{{study}}/history/{SETTING}/{{method}}/seed{{seed}}.json.prov.json",
        model=f"runs/{{study}}/{SETTING}/{{method}}/seed{{seed}}/model.pt",
    log:
        f"logs/{{study}}/train/{SETTING}/{{method}}/seed{{seed}}.log",
    benchmark:
        f"logs/{{study}}/benchmark/train/{SETTING}/{{method}}/seed{{seed}}.tsv"
    conda:
        ENV
    threads: train_resources("cpus", 1)
    resources:
        mem_mb=train_resources("mem_mb", 4000),
        runtime=train_resources("runtime_min", 60),
        gpu=train_resources("gpus", 0),
    params:
        run=train_params,
    shell:
        "procrustean train --study {wildcards.study} --dataset {wildcards.dataset}"
        " --method {wildcards.method} --seed {wildcards.seed} --split {input.split}"
        " --checkpoint {output.model} --history {output.history} > {log} 2>&1"
