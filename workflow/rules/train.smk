rule train:
    input:
        out_of_date("train"),
        split=made_by(pattern(SPLIT), "train"),
    output:
        history=pattern(HISTORY),
        prov=pattern(HISTORY, PROV),
        model=pattern(MODEL),
    log:
        f"logs/{{study}}/train/{SETTING}/{{method}}/seed{{seed}}.log",
    benchmark:
        f"logs/{{study}}/benchmark/train/{SETTING}/{{method}}/seed{{seed}}.tsv"
    threads: train_resources("cpus")
    resources:
        mem_mb=train_resources("mem_mb"),
        runtime=train_resources("runtime_min"),
        gpu=train_resources("gpus"),
    shell:
        "procrustean train --study {wildcards.study}"
        " --dataset {wildcards.dataset} --method {wildcards.method} --seed {wildcards.seed}"
        " --split {input.split} --checkpoint {output.model} --history {output.history}"
        " --tensorboard logs/{wildcards.study}/tensorboard/{wildcards.dataset}-{wildcards.profile}"
        "-r{wildcards.ratio}/{wildcards.method}/seed{wildcards.seed} > {log} 2>&1"
