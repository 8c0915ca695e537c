rule run_config:
    # The run's params entries as a file: DVC's train stage depends on it (dvc.yaml), so both
    # engines make the same files. Its params trigger re-writes it only when the entries change.
    output:
        run_config_path("{study}", "{dataset}", "{method}"),
    log:
        "logs/{study}/run_config/{dataset}/{method}.log",
    localrule: True
    params:
        run=train_params,
    shell:
        "procrustean run-config --study {wildcards.study}"
        " --dataset {wildcards.dataset} --method {wildcards.method} > {log} 2>&1"


rule train:
    input:
        split=f"data/splits/{{study}}/{SETTING}.json",
        run_config=run_config_path("{study}", "{dataset}", "{method}"),
    output:
        history=f"results/{{study}}/history/{SETTING}/{{method}}/seed{{seed}}.json",
        prov=f"results/{{study}}/history/{SETTING}/{{method}}/seed{{seed}}.json.prov.json",
        model=f"runs/{{study}}/{SETTING}/{{method}}/seed{{seed}}/model.pt",
    log:
        f"logs/{{study}}/train/{SETTING}/{{method}}/seed{{seed}}.log",
    benchmark:
        f"logs/{{study}}/benchmark/train/{SETTING}/{{method}}/seed{{seed}}.tsv"
    threads: train_resources("cpus")
    resources:
        mem_mb=train_resources("mem_mb"),
        runtime=train_resources("runtime_min"),
        gpu=train_resources("gpus"),
    params:
        run=train_params,
    shell:
        "procrustean train --study {wildcards.study}"
        " --dataset {wildcards.dataset} --method {wildcards.method} --seed {wildcards.seed}"
        " --split {input.split} --checkpoint {output.model} --history {output.history}"
        " --tensorboard logs/{wildcards.study}/tensorboard/{wildcards.dataset}-{wildcards.profile}"
        "-r{wildcards.ratio}/{wildcards.method}/seed{wildcards.seed} > {log} 2>&1"
