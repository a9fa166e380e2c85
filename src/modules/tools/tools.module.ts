import { Module } from '@nestjs/common';
import { LlmModule } from '../../llm/llm.module.js';
import { PersistenceModule } from '../../persistence/persistence.module.js';
import { AccessModule } from '../access/access.module.js';
import { ConversationsModule } from '../conversations/conversations.module.js';
import { FilesModule } from '../files/files.module.js';
import { McpServers } from './mcp/mcp-servers.js';
import { PluginTools } from './plugins/plugin-tools.js';
import { ToolCallsRepository } from './tool-calls.repository.js';
import { ToolsController } from './tools.controller.js';
import { ToolsService } from './tools.service.js';

@Module({
  imports: [PersistenceModule, LlmModule, AccessModule, ConversationsModule, FilesModule],
  controllers: [ToolsController],
  providers: [McpServers, PluginTools, ToolCallsRepository, ToolsService],
  exports: [ToolsService, McpServers],
})
export class ToolsModule {}
