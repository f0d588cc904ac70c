import { Module } from '@nestjs/common';
import { AdminKeyGuard } from '../auth/admin-key.guard.js';
import { AdminController } from './admin.controller.js';
import { AdminJiraProxyController } from './admin-jira-proxy.controller.js';
import { AdminService } from './admin.service.js';

/** The product's service-to-service API under /api/admin (ADMIN_API_KEYS). */
@Module({
  controllers: [AdminController, AdminJiraProxyController],
  providers: [AdminService, AdminKeyGuard],
})
export class AdminModule {}
