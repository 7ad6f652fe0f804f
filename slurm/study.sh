# Sourced by slurm/granularity-task.sbatch for the granularity study and the
# granularity threshold: one block size's share of either. For every victim model (TESSERA_STUDY_MODELS) and drop rate
# (TESSERA_STUDY_RATES): the search (`tessera attack`, its settings from the tessera
# options given, e.g. --config jobs/granularity-study.ini) with the adversary
# holding the blocks of that drop rate; then one fine-tune per model from every
# search's placement (`tessera finetune --finetune.from=...`), whose file carries the
# searches' records. Files: study-<array>_<task>-<arch>-drop-<rate>.h5 (the searches)
# and study-<array>_<task>-<arch>.h5 (the fine-tune) in TESSERA_GRANULARITY_OUT.
# The threshold (threshold_task) runs the searches only, the adversary's own training
# (train.*, a surrogate's) included: threshold-<array>_<task>-<arch>-drop-<rate>.h5.

# The options among "$@" (after COMMAND) that tessera COMMAND takes, one per line:
# the fine-tune's sections (finetune, train) go to finetune only, the search's
# (attack, ga, sa, assignment, init, sinkhorn, rl, surrogate) to attack only, the
# victims' training takes only data.* and run.*, and every other option goes to all.
# COMMAND threshold: the threshold's searches, which take train.* (their surrogates').
study_options() {
  local command=$1 option section
  shift
  for option in "$@"; do
    section=${option#--}
    section=${section%%.*}
    case $command:$section in
      finetune:attack|finetune:ga|finetune:sa|finetune:assignment|finetune:init|finetune:sinkhorn|finetune:rl) ;;
      finetune:surrogate|threshold:finetune) ;;
      attack:finetune|attack:train) ;;
      train:data|train:run) printf '%s\n' "$option" ;;
      train:*) ;;
      *) printf '%s\n' "$option" ;;
    esac
  done
}

# study_task SIZE [tessera options]
study_task() {
  local size=$1
  shift
  local out=${TESSERA_GRANULARITY_OUT:?set by slurm/granularity.sh}
  local stem="study-${SLURM_ARRAY_JOB_ID:?not an array task}_${SLURM_ARRAY_TASK_ID}"
  local models rates model arch rate attack_options finetune_options
  mapfile -t attack_options < <(study_options attack "$@")
  mapfile -t finetune_options < <(study_options finetune "$@")
  read -r -a models <<<"${TESSERA_STUDY_MODELS:?set by slurm/granularity.sh --models}"
  read -r -a rates <<<"${TESSERA_STUDY_RATES:?set by slurm/granularity.sh --rates}"
  for model in "${models[@]}"; do
    arch=$(basename "$model" .h5)
    local searches=()
    for rate in "${rates[@]}"; do
      run_tessera attack "${attack_options[@]}" --model.checkpoint="$model" --blocks.bh="$size" --blocks.bw="$size" \
        --attack.drop_rate="$rate" --attack.run="drop-$rate" --attack.replace=true --run.out="$out" \
        --run.name="$stem-$arch-drop-$rate"
      searches+=("$out/$stem-$arch-drop-$rate.h5:drop-$rate")
    done
    run_tessera finetune "${finetune_options[@]}" --model.checkpoint="$model" --finetune.from="$(IFS=,; echo "${searches[*]}")" \
      --run.out="$out" --run.name="$stem-$arch"
  done
}

# threshold_task SIZE [tessera options]
threshold_task() {
  local size=$1
  shift
  local out=${TESSERA_GRANULARITY_OUT:?set by slurm/granularity.sh}
  local stem="threshold-${SLURM_ARRAY_JOB_ID:?not an array task}_${SLURM_ARRAY_TASK_ID}"
  local models rates model arch rate attack_options
  mapfile -t attack_options < <(study_options threshold "$@")
  read -r -a models <<<"${TESSERA_STUDY_MODELS:?set by slurm/granularity.sh --models}"
  read -r -a rates <<<"${TESSERA_STUDY_RATES:?set by slurm/granularity.sh --rates}"
  for model in "${models[@]}"; do
    arch=$(basename "$model" .h5)
    for rate in "${rates[@]}"; do
      run_tessera attack "${attack_options[@]}" --model.checkpoint="$model" --blocks.bh="$size" --blocks.bw="$size" \
        --attack.drop_rate="$rate" --attack.run="$arch-drop-$rate" --attack.replace=true --run.out="$out" \
        --run.name="$stem-$arch-drop-$rate"
    done
  done
}
