/** Queue configs shared by the core tests (not part of the package surface). */
import type { LaunchContext } from '../config/resolve.js';

/** A launch context with every field set. */
export const CONTEXT: LaunchContext = {
  project: 'my-project',
  region: 'us-central1',
  runId: 'run-20261129-a1b2',
  launchId: 'launch-7f3e',
  imageUri:
    'us-central1-docker.pkg.dev/my-project/train/trainer@sha256:0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd',
  runName: 'baseline',
  queueName: 'gpu-queue',
};

/** Environment for `${env:...}`. */
export const ENV = { WANDB_ENTITY: 'research-team', HOME: '/home/agent' };

/**
 * A rich queue config: A100 GPUs with a reservation in three pools (chief, workers, a Python package evaluator) and an
 * empty placeholder pool for the servers, FLEX_START with max_wait_duration (hence the same machine in every pool),
 * service account, network, reserved IP ranges, PSC, CMEK, NFS and Lustre mounts, disk spec, TensorBoard, persistent
 * resource, models, international labels, typed variables and allowed overrides.
 */
export const RICH_YAML = `
# yaml-language-server: $schema=queue-config.json
template_variables:
  workers:
    type: integer
    description: number of worker replicas
    default: 3
    minimum: 1
    maximum: 16
  gpus:
    type: integer
    description: A100 GPUs per VM
    enum: [1, 2, 4, 8]
    default: 2
allowed_overrides:
  - run.timeout
  - run.scheduling_strategy
  - run.max_wait_duration
  - run.tensorboard
  - run.experiment
  - run.experiment_run
  - spec.labels
spec:
  display_name: \${queue_name}-\${run_name}
  worker_pool_specs:
    - machine_spec:
        machine_type: a2-highgpu-{{gpus}}g
        accelerator_type: NVIDIA_TESLA_A100
        accelerator_count: "{{gpus}}"
        reservation_affinity:
          reservation_affinity_type: SPECIFIC_RESERVATION
          key: compute.googleapis.com/reservation-name
          values: [projects/my-project/zones/us-central1-a/reservations/a100-reservation]
      replica_count: 1
      container_spec:
        image_uri: \${image_uri}
        command: [python, -m, trainer.task]
        args: [--epochs, "10", --run-id, "\${run_id}", --home, "$\${HOME}"]
        env:
          - name: WANDB_ENTITY
            value: \${env:WANDB_ENTITY}
          - name: VERTEX_LAUNCH_PROJECT
            value: \${project_name}/\${region}/\${launch_id}
      disk_spec:
        boot_disk_type: pd-ssd
        boot_disk_size_gb: 200
      nfs_mounts:
        - server: 10.0.0.2
          path: /exports/datasets
          mount_point: datasets
    - machine_spec:
        machine_type: a2-highgpu-{{gpus}}g
        accelerator_type: NVIDIA_TESLA_A100
        accelerator_count: "{{gpus}}"
      replica_count: "{{workers}}"
      container_spec:
        image_uri: \${image_uri}
      lustre_mounts:
        - instance_ip: 10.0.0.9
          volume_handle: my-project/us-central1-a/lustre-1
          filesystem: scratch
          mount_point: scratch
    - {}
    - machine_spec:
        machine_type: a2-highgpu-{{gpus}}g
        accelerator_type: NVIDIA_TESLA_A100
        accelerator_count: "{{gpus}}"
      python_package_spec:
        executor_image_uri: us-docker.pkg.dev/vertex-ai/training/pytorch-gpu.2-4.py310:latest
        package_uris: [gs://my-bucket/dist/trainer-0.1.tar.gz]
        python_module: trainer.evaluate
        args: [--split, test]
        env:
          - name: MODE
            value: eval
  staging_bucket: gs://my-bucket/
  labels:
    team: ml
    owner: josé
    cost-center: r_d-42
  encryption_spec_key_name: projects/my-project/locations/us-central1/keyRings/ring/cryptoKeys/key
  service_account: trainer@my-project.iam.gserviceaccount.com
  network: projects/123456789/global/networks/training-vpc
  reserved_ip_ranges: [training-range-a]
  enable_dashboard_access: true
  persistent_resource_id: a100-cluster
  models: [projects/my-project/locations/us-central1/models/42@3]
  protected_artifact_location_id: us-central1
run:
  service_account: trainer@my-project.iam.gserviceaccount.com
  timeout: 2h30m
  restart_job_on_worker_restart: true
  enable_web_access: true
  tensorboard: projects/my-project/locations/us-central1/tensorboards/777
  disable_retries: true
  scheduling_strategy: FLEX_START
  max_wait_duration: 90m
  psc_interface_config:
    network_attachment: projects/my-project/regions/us-central1/networkAttachments/psc-att
    dns_peering_configs:
      - domain: corp.example.com.
        target_project: host-project
        target_network: shared-vpc
  create_request_timeout: 60
`;
