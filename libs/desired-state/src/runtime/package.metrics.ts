/**
 * Prometheus metrics of packages in config-service (and the embedded server):
 * uploads and URL verifications of the catalog, and the package
 * reconciler's offers, its retries of failed installs, and the agents it
 * sent nothing, by reason; the collection of uploaded files no version names.
 */
import { Counter, type Registry } from 'prom-client';
import type { FleetApiService } from '../api/fleet-api.service';
import { mirrorCounter } from './metric-mirror';
import type { PackageBlobCollector } from './package-blob.collector';
import type { PackageReconciler } from './package.reconciler';

export function registerPackageMetrics(registry: Registry, api: FleetApiService, packages: PackageReconciler | null, blobs: PackageBlobCollector | null = null): void {
  const catalog = api.packages.metrics;
  mirrorCounter(registry, 'opamp_config_package_uploads_total', 'Package files uploaded (new or already stored)', () => catalog.uploads);
  mirrorCounter(registry, 'opamp_config_package_uploaded_bytes_total', 'Bytes of new package files stored', () => catalog.uploadedBytes);
  mirrorCounter(registry, 'opamp_config_package_url_verifications_total', 'Package file URLs downloaded to verify their hash', () => catalog.urlVerifications);
  mirrorCounter(registry, 'opamp_config_package_url_refusals_total', 'Package file URLs refused (hash, size, unreachable, timeout)', () => catalog.urlRefusals);
  if (blobs) {
    const t = blobs.totals;
    mirrorCounter(registry, 'opamp_config_package_files_collected_total', 'Uploaded package files removed: no version names them and nobody used them for the grace period', () => t.blobs);
    mirrorCounter(registry, 'opamp_config_package_files_collected_bytes_total', 'Bytes of uploaded package files removed by the collection', () => t.bytes);
    mirrorCounter(registry, 'opamp_config_package_file_collection_errors_total', 'Collection passes of unreferenced package files that failed', () => t.errors);
  }
  const assignments = api.packageAssignments.metrics;
  mirrorCounter(registry, 'opamp_config_package_reevaluation_errors_total', 'Re-evaluations after a package assignment change that failed', () => assignments.reevaluationErrors);
  if (!packages) return;
  const m = packages.metrics;
  mirrorCounter(registry, 'opamp_config_package_offers_total', 'PackagesAvailable offers sent', () => m.offersSent);
  mirrorCounter(registry, 'opamp_config_package_install_retries_total', 'Offers that retried a failed package install after its back-off', () => m.retriesSent);
  new Counter({
    name: 'opamp_config_package_not_offered_total',
    help: 'Agent evaluations that offered nothing: no file for the platform, a withdrawn or unknown version, no download address',
    labelNames: ['reason'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(m.refusals)) this.inc({ reason }, n);
    },
  });
}
